import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTraffic, pythonFloat, trafficToCsv } from '../../src/data/generator';
import { loadTraffic } from '../../src/data/csv';
import { SEED_FEATURES } from '../../src/data/schema';

const col = (t: ReturnType<typeof generateTraffic>, name: string, label: 0 | 1) => {
  const j = t.features.indexOf(name);
  const out: number[] = [];
  for (let i = 0; i < t.X.rows; i++) if (t.labels![i] === label) out.push(t.X.data[i * t.X.cols + j]);
  return out;
};
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

describe('generateTraffic', () => {
  it('reproduces the committed sample file byte for byte', () => {
    const file = path.join(__dirname, '../../data/sample_network_traffic.csv');
    expect(trafficToCsv(generateTraffic({ rows: 1000, anomalyRatio: 0.15, seed: 42 }))).toBe(fs.readFileSync(file, 'utf8'));
  });

  it('has the seed layout: timestamp, 10 features, label; anomalies first in ascending time', () => {
    const t = generateTraffic({ rows: 200, anomalyRatio: 0.1, seed: 1 });
    expect(t.header).toEqual(['timestamp', ...SEED_FEATURES, 'label']);
    expect(Array.from(t.labels!).reduce((a, b) => a + b, 0)).toBe(20);
    expect(Array.from(t.labels!.slice(0, 20))).toEqual(new Array(20).fill(1));
    const ts = t.timestamps!;
    for (let i = 1; i < ts.length; i++) expect(ts[i] > ts[i - 1]).toBe(true);
    expect(ts[ts.length - 1]).toBe('2025-01-01 00:00:00');
  });

  it('draws the documented distributions', () => {
    const t = generateTraffic({ rows: 20000, anomalyRatio: 0.15, seed: 5 });
    expect(mean(col(t, 'packet_size', 0))).toBeCloseTo(512, -1);
    expect(mean(col(t, 'src_bytes', 0))).toBeGreaterThan(4900);
    expect(Math.min(...col(t, 'error_rate', 1))).toBeGreaterThanOrEqual(10);
    expect(Math.max(...col(t, 'error_rate', 0))).toBeLessThanOrEqual(5);
    expect(Math.max(...col(t, 'src_port', 1))).toBeLessThanOrEqual(1023);
    expect(Math.min(...col(t, 'src_port', 0))).toBeGreaterThanOrEqual(1024);
    const dst = new Set(col(t, 'dst_port', 0));
    expect([...dst].sort((a, b) => a - b)).toEqual([21, 22, 25, 53, 80, 443]);
    const proto = col(t, 'protocol_type', 0);
    expect(proto.filter((p) => p === 0).length / proto.length).toBeCloseTo(0.7, 1);
  });

  it('is deterministic per seed and varies across seeds', () => {
    const a = trafficToCsv(generateTraffic({ rows: 300, seed: 9 }));
    expect(trafficToCsv(generateTraffic({ rows: 300, seed: 9 }))).toBe(a);
    expect(trafficToCsv(generateTraffic({ rows: 300, seed: 10 }))).not.toBe(a);
  });

  it('round-trips through the CSV reader', () => {
    const t = generateTraffic({ rows: 100, seed: 3 });
    const file = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'nal-')), 'g.csv');
    fs.writeFileSync(file, trafficToCsv(t));
    const back = loadTraffic(file);
    expect(Array.from(back.X.data)).toEqual(Array.from(t.X.data));
    expect(Array.from(back.labels!)).toEqual(Array.from(t.labels!));
  });

  it('refuses bad options', () => {
    expect(() => generateTraffic({ rows: 0 })).toThrow(/'rows' option/);
    expect(() => generateTraffic({ anomalyRatio: 1 })).toThrow(/'anomalyRatio' option/);
    expect(() => generateTraffic({ seed: 1.5 })).toThrow(/'seed' option/);
  });

  it('writes floats as Python repr does', () => {
    expect(pythonFloat(64)).toBe('64.0');
    expect(pythonFloat(0)).toBe('0.0');
    expect(pythonFloat(0.0001)).toBe('0.0001');
    expect(pythonFloat(0.00001)).toBe('1e-05');
    expect(pythonFloat(1.5e-7)).toBe('1.5e-07');
    expect(pythonFloat(1e16)).toBe('1e+16');
    expect(pythonFloat(1234567890123456)).toBe('1234567890123456.0');
    expect(pythonFloat(-2.5)).toBe('-2.5');
  });
});
