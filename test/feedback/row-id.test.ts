import { describe, expect, it } from 'vitest';
import { parseCsv, parseTraffic } from '../../src/data/csv';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { subsetRows } from '../../src/data/split';
import type { DatasetSchema } from '../../src/data/schema';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';
import { detectionRows, detectionToCsv, featureSetId, resultColumns, rowId, rowIds, rowIdsAt } from '../../src/ensemble/output';

const data = generateTraffic({ rows: 120, anomalyRatio: 0.1, seed: 9 });

describe('stable row ids', () => {
  it('are 16 hex digits, the same for the same row however the file is written', () => {
    const ids = rowIds(data);
    expect(ids[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // re-read from CSV text: the same ids
    const again = parseTraffic(parseCsv(trafficToCsv(data)));
    expect(rowIds(again)).toEqual(ids);
    // without the label column, with an extra column, and with numbers written differently
    const t = parseCsv(trafficToCsv(data));
    const li = t.header.indexOf('label');
    const header = [...t.header.filter((_, j) => j !== li), 'note'];
    const records = t.records.map((r) => [...r.filter((_, j) => j !== li).map((c, j) => (j === 1 ? (c.includes('.') ? `${c}0` : `${c}.0`) : c)), 'x']);
    expect(rowIds(parseTraffic({ header, records, warnings: [] }))).toEqual(ids);
    // a matrix with the same numbers and timestamps
    expect(rowIds({ X: data.X, timestamps: data.timestamps })).toEqual(ids);
    // subsets keep ids; rowIdsAt picks rows
    expect(rowIds(subsetRows(data, [5, 3]))).toEqual([ids[5], ids[3]]);
    expect(rowIdsAt(data, [5, 3])).toEqual([ids[5], ids[3]]);
    expect(rowId(Array.from(data.X.data.subarray(0, 10)), data.timestamps![0])).toBe(ids[0]);
  });

  it('identical rows share an id; another timestamp makes another id', () => {
    const twice = subsetRows(data, [4, 4]);
    expect(new Set(rowIds(twice)).size).toBe(1);
    expect(rowIds({ X: twice.X, timestamps: ['a', 'b'] })[0]).not.toBe(rowIds({ X: twice.X, timestamps: ['a', 'b'] })[1]);
  });

  it('come from the raw cells, so a model that learned other categories keeps them', () => {
    const schema: DatasetSchema = { name: 'cat', features: ['proto', 'bytes'], categorical: ['proto'], label: 'label' };
    const header = ['proto', 'bytes', 'label'];
    const rows = [
      ['tcp', '10', '0'],
      ['udp', '20', '0'],
      ['icmp', '30', '1'],
    ];
    const a = parseTraffic({ header, records: rows, warnings: [] }, { schema });
    const b = parseTraffic({ header, records: rows.slice(0, 2), warnings: [] }, { schema }); // no icmp category
    expect(a.features).not.toEqual(b.features);
    expect(rowIds(b)).toEqual(rowIds(a).slice(0, 2));
    expect(featureSetId(a.features)).not.toBe(featureSetId(b.features));
  });

  it('are the first result column of detect output and in detectionRows', async () => {
    const ens = await new AnomalyEnsemble({ seed: 1, detectors: ['isolationForest', 'localOutlierFactor'] }).fit(data);
    const r = ens.detect(data);
    expect(resultColumns(r)[0]).toBe('row_id');
    const csv = parseCsv(detectionToCsv(r, data));
    const col = csv.header.indexOf('row_id');
    expect(col).toBe(data.header.length);
    expect(csv.records.map((x) => x[col])).toEqual(rowIds(data));
    expect(detectionRows(r, data).map((x) => x.row_id)).toEqual(rowIds(data));
    expect(detectionRows(r)[0].row_id).toBeUndefined();
    // detect output read back as input gives the same ids
    expect(rowIds(parseTraffic(csv))).toEqual(rowIds(data));
  });
});
