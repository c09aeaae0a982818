/**
 * Provenance of a run (src/core/provenance.ts records, src/report/provenance.ts reports): data
 * files read through the library with their sha256, seeds of the seeded entry points, parameters,
 * package, Node and wall time, as HTML and text.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordDataFile, recordedDataFiles, recordedSeeds, recordSeed, resetProvenance } from '../../src/core/provenance';
import { generateTraffic, trafficToCsv } from '../../src/data/generator';
import { loadTraffic } from '../../src/data/csv';
import { collectProvenance, provenanceHtml, provenanceText, sha256File, showProvenance } from '../../src/report/provenance';

let dir: string;
beforeEach(() => {
  resetProvenance();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nal-provenance-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  resetProvenance();
});

describe('recording', () => {
  it('the loaders record the files they read and the seeded calls their seeds', () => {
    const data = generateTraffic({ rows: 50, seed: 7 });
    generateTraffic({ rows: 50, seed: 7 });
    const file = path.join(dir, 'traffic.csv');
    fs.writeFileSync(file, trafficToCsv(data));
    loadTraffic(file);
    loadTraffic(file);
    expect(recordedDataFiles()).toEqual([{ path: file, readBy: ['readTextFile'] }]);
    expect(recordedSeeds()).toEqual([{ label: 'generateTraffic', seed: 7, uses: 2 }]);
  });

  it('is one registry per process, whichever copy of the module records', async () => {
    recordDataFile('relative.csv', 'test');
    recordSeed('test', 3);
    vi.resetModules();
    const again = await import('../../src/core/provenance');
    expect(again.recordedDataFiles()).toEqual([{ path: path.resolve('relative.csv'), readBy: ['test'] }]);
    expect(again.recordedSeeds()).toEqual([{ label: 'test', seed: 3, uses: 1 }]);
  });
});

describe('collectProvenance', () => {
  it('hashes the files read, and says when one is gone', () => {
    const a = path.join(dir, 'a.csv');
    fs.writeFileSync(a, 'x,y\n1,2\n');
    recordDataFile(a, 'test');
    recordDataFile(path.join(dir, 'gone.csv'), 'test');
    const p = collectProvenance({ subject: 'demo', parameters: [{ name: 'SEED', value: 1, defaultValue: 42, overridden: true }] });
    expect(p.dataFiles).toEqual([
      { path: a, bytes: 8, sha256: createHash('sha256').update('x,y\n1,2\n').digest('hex'), readBy: ['test'] },
      { path: path.join(dir, 'gone.csv'), bytes: null, sha256: null, readBy: ['test'], note: 'gone since it was read' },
    ]);
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    expect(p.package).toEqual({ name: pkg.name, version: pkg.version });
    expect(p.node).toBe(process.version);
    expect(p.tfBackend).toMatch(/^(none|wasm|cpu|tensorflow)$/);
    expect(p.wallSeconds).toBeGreaterThan(0);
    expect(Date.parse(p.startedAt)).toBeLessThan(Date.now());
    expect(p.subject).toBe('demo');
  });

  it.skipIf(process.platform === 'win32')('does not read a FIFO again (it would wait for a writer)', () => {
    const fifo = path.join(dir, 'feed');
    const made = spawnSync('mkfifo', [fifo]);
    if (made.status !== 0) throw new Error(`mkfifo failed: ${made.stderr}`);
    recordDataFile(fifo, 'readCsvChunks');
    expect(collectProvenance().dataFiles).toEqual([{ path: fifo, bytes: null, sha256: null, readBy: ['readCsvChunks'], note: 'not a regular file' }]);
    expect(provenanceText(collectProvenance())).toContain(`${fifo} (not a regular file)`);
  });

  it('reads a large file in blocks to the same sha256', () => {
    const big = path.join(dir, 'big.bin');
    const buf = Buffer.alloc(3 * (1 << 20) + 123, 7);
    fs.writeFileSync(big, buf);
    expect(sha256File(big)).toBe(createHash('sha256').update(buf).digest('hex'));
  });

  it('shows paths inside the package relative to it, as HTML (escaped) and as text', () => {
    const inside = path.join(__dirname, '..', '..', 'package.json');
    recordDataFile(inside, 'test');
    recordSeed('AnomalyEnsemble.fit', 42);
    const p = collectProvenance({ parameters: [{ name: 'LABEL', value: '<b>', defaultValue: 'x', overridden: true }], extra: { executor: 'test' } });
    const html = provenanceHtml(p);
    expect(html).toContain('<h2 style="font-size:16px;font-weight:500;margin:4px 0 6px 0">Provenance</h2>');
    expect(html).toContain('>package.json</td>');
    expect(html).toContain('&quot;&lt;b&gt;&quot; <b>(set for this run)</b>');
    expect(html).toContain('AnomalyEnsemble.fit 42');
    expect(html).toContain('>executor</th><td style="text-align:left;padding:2px 10px 2px 0;vertical-align:top">test<');
    expect(html).not.toContain('<b>"');
    const text = provenanceText(p);
    expect(text).toMatch(/^Provenance\n {2}package: network-anomaly-lab /);
    expect(text).toContain('    LABEL = "<b>" (default "x")');
    expect(text).toMatch(/ {4}package\.json \d+(\.\d)? (B|KB) sha256 [0-9a-f]{64}/);
  });

  it('prints the text form outside a notebook', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const p = showProvenance({ subject: 'cli' });
      expect(p.subject).toBe('cli');
      expect(log).toHaveBeenCalledWith(provenanceText(p));
    } finally {
      log.mockRestore();
    }
  });
});
