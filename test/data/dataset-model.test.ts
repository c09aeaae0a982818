/** A model fitted on encoded traffic stores its description and encoder and encodes new files identically. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/core/errors';
import { encodeTraffic, parseCsvWithSchema, parseTraffic } from '../../src/data/csv';
import { NSL_KDD_SCHEMA } from '../../src/data/schema';
import { AnomalyEnsemble } from '../../src/ensemble/ensemble';
import { nslLine, nslText } from './fixtures';

const read = (text: string, encoder?: Parameters<typeof parseTraffic>[1]['encoder']) =>
  parseTraffic(parseCsvWithSchema(text, NSL_KDD_SCHEMA, 'k.txt'), { schema: NSL_KDD_SCHEMA, encoder, file: 'k.txt' });
const OPTS = { seed: 2, detectors: ['isolationForest', 'localOutlierFactor'], localOutlierFactor: { nNeighbors: 10 } } as const;

describe('models of encoded traffic', () => {
  const train = encodeTraffic(read(nslText(60)));
  const newText = nslText(15, { offset: 7 }) + nslLine('tcp', 'imap4', 'SF', 'guess_passwd', 2) + '\n';

  it('re-encode traffic read with another encoder, and match loading with the model encoder', async () => {
    const ens = await new AnomalyEnsemble(OPTS).fit(train);
    expect(ens.encoder).toBe(train.encoder);
    expect(ens.schema!.name).toBe('nsl-kdd');
    const own = read(newText); // its own encoder: other columns than the model's
    expect(own.features).not.toEqual(ens.featureNames);
    const viaModel = read(newText, ens.encoder);
    expect(viaModel.unseenCategories).toEqual({ service: 1 });
    expect(Array.from(ens.detect(own).ensembleScore)).toEqual(Array.from(ens.detect(viaModel).ensembleScore));
  });

  it('saves the description and encoder; a loaded model scores identically', async () => {
    const ens = await new AnomalyEnsemble(OPTS).fit(train);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-dsm-'));
    await ens.save(dir);
    const again = await AnomalyEnsemble.load(dir);
    expect(again.schema).toEqual(JSON.parse(JSON.stringify(NSL_KDD_SCHEMA)));
    expect(again.encoder!.featureNames).toEqual(ens.featureNames);
    expect(again.encoder!.log1p).toEqual(ens.encoder!.log1p);
    const rows = read(newText);
    expect(Array.from(again.detect(rows).ensembleScore)).toEqual(Array.from(ens.detect(rows).ensembleScore));
    // a manifest whose encoder disagrees with the feature names is refused
    const mf = path.join(dir, 'manifest.json');
    const m = JSON.parse(fs.readFileSync(mf, 'utf8'));
    m.dataset.encoder.categories.flag.pop();
    fs.writeFileSync(mf, JSON.stringify(m));
    await expect(AnomalyEnsemble.load(dir)).rejects.toThrow(ModelFormatError);
    m.dataset.schema = { features: 3 };
    fs.writeFileSync(mf, JSON.stringify(m));
    await expect(AnomalyEnsemble.load(dir)).rejects.toThrow(/invalid dataset description/);
  });
});
