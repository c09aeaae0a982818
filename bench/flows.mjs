#!/usr/bin/env node
/**
 * Packets per second of capture reading and flow metering, on one core. A seeded synthesized
 * capture (about 2 million packets, snapshot length 128 as `tcpdump -s 128` would cut it; kept in
 * .tmp/bench-flows/ between runs) is read by fresh processes pinned to one CPU (`taskset -c 0`
 * where it exists), interleaved, in four cells:
 *   read     the file's bytes only (the I/O floor)
 *   parse    + the pcap/pcapng container (forEachPacket)
 *   flows    + decoding and the flow meter (captureFlows: the library path)
 *   cli      `nal flows --pcap FILE --out FILE` end to end (CSV written)
 * for classic pcap and pcapng. Medians of --repeats runs (default 5). Results:
 * results/FLOWS_BENCH.md and results/flows-bench.json. A benchmark, never a test: nothing asserts
 * on a time. The target (issue 16): at least 1,000,000 packets/s on one core for `flows`.
 *
 * Usage: npm run build && node bench/flows.mjs [--repeats N] [--minutes M] [--quick]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const { values: opt } = parseArgs({
  options: { repeats: { type: 'string' }, minutes: { type: 'string' }, quick: { type: 'boolean' }, help: { type: 'boolean' } },
});
if (opt.help) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}
if (!fs.existsSync(path.join(DIST, 'capture/flows.js'))) {
  console.error('bench/flows.mjs: build first (npm run build)');
  process.exit(1);
}
const repeats = Number(opt.repeats ?? (opt.quick ? 2 : 5));
const minutes = Number(opt.minutes ?? (opt.quick ? 15 : 120));
const SYNTH = { seed: 2024, minutes, webPerSecond: 3, dnsPerSecond: 4, sshPerHour: 60, snapLength: 128 };
const dir = path.join(ROOT, '.tmp', 'bench-flows');
fs.mkdirSync(dir, { recursive: true });
const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', '-c', '0'] : [];

/** The capture files (made once per settings, then reused). */
async function captures() {
  const tag = `${SYNTH.seed}-${minutes}m`;
  const files = { pcap: path.join(dir, `synth-${tag}.pcap`), pcapng: path.join(dir, `synth-${tag}.pcapng`) };
  const { synthesizeCapture } = await import(path.join(DIST, 'capture/synth.js'));
  for (const [format, file] of Object.entries(files)) {
    if (fs.existsSync(file)) continue;
    process.stderr.write(`synthesizing ${file} ...\n`);
    const r = await synthesizeCapture(file, { ...SYNTH, format });
    process.stderr.write(`  ${r.packets} packets, ${(r.bytes / 2 ** 20).toFixed(0)} MiB\n`);
  }
  return files;
}

/** Code each cell runs in its own process; prints {seconds, packets, flows}. */
const CELL = {
  read: (file) => `const fs=require('fs');const t=performance.now();const fd=fs.openSync(${JSON.stringify(file)},'r');const b=Buffer.allocUnsafe(1<<20);let n=0,k;while((k=fs.readSync(fd,b,0,b.length,null))>0)n+=k;console.log(JSON.stringify({seconds:(performance.now()-t)/1000,bytes:n}));`,
  parse: (file) => `const {forEachPacket}=require(${JSON.stringify(path.join(DIST, 'capture/pcap.js'))});(async()=>{const t=performance.now();let n=0;await forEachPacket(${JSON.stringify(file)},()=>{n++});console.log(JSON.stringify({seconds:(performance.now()-t)/1000,packets:n}));})();`,
  flows: (file) => `const {captureFlows}=require(${JSON.stringify(path.join(DIST, 'capture/flows.js'))});(async()=>{const t=performance.now();let f=0;const it=captureFlows(${JSON.stringify(file)});let r;while(!(r=await it.next()).done)f++;console.log(JSON.stringify({seconds:(performance.now()-t)/1000,packets:r.value.packets,flows:f,peakActiveFlows:r.value.peakActiveFlows,maxRssMb:process.resourceUsage().maxRSS/1024}));})();`,
};

function runCell(cell, file) {
  if (cell === 'cli') {
    const out = path.join(dir, 'flows-out.csv');
    const t = process.hrtime.bigint();
    const r = spawnSync(pin[0] ?? process.execPath, [...pin.slice(1), ...(pin.length ? [process.execPath] : []), path.join(DIST, 'cli/main.js'), 'flows', '--pcap', file, '--out', out], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`nal flows failed: ${r.stderr}`);
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    const packets = Number(/read ([\d,]+) packets/.exec(r.stderr)[1].replace(/,/g, ''));
    return { seconds, packets };
  }
  const r = spawnSync(pin[0] ?? process.execPath, [...pin.slice(1), ...(pin.length ? [process.execPath] : []), '-e', CELL[cell](file)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cell} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const files = await captures();
const cells = ['read', 'parse', 'flows', 'cli'];
const runs = {};
for (let k = 0; k < repeats; k++) {
  // alternate the order so that every cell sees the same machine load on average
  const order = k % 2 ? [...cells].reverse() : cells;
  for (const [format, file] of Object.entries(files)) {
    for (const cell of order) {
      const r = runCell(cell, file);
      (runs[`${format}/${cell}`] ??= []).push(r);
      process.stderr.write(`  ${format} ${cell}: ${r.seconds.toFixed(3)} s\n`);
    }
  }
}
const packets = runs['pcap/flows'][0].packets;
const results = Object.fromEntries(
  Object.entries(runs).map(([k, rs]) => {
    const s = median(rs.map((r) => r.seconds));
    return [k, { seconds: s, runs: rs.map((r) => r.seconds), packetsPerSecond: packets / s, ...(rs[0].flows ? { flows: rs[0].flows, peakActiveFlows: rs[0].peakActiveFlows, maxRssMb: Math.max(...rs.map((r) => r.maxRssMb)) } : {}) }];
  }),
);
const sizes = Object.fromEntries(Object.entries(files).map(([f, p]) => [f, fs.statSync(p).size]));
const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, load: os.loadavg(), pinned: pin.length > 0, node: process.version },
  capture: { ...SYNTH, packets, bytes: sizes },
  repeats,
  results,
};
fs.mkdirSync(path.join(ROOT, 'results'), { recursive: true });
const name = opt.quick ? 'flows-bench-quick' : 'flows-bench';
fs.writeFileSync(path.join(ROOT, 'results', `${name}.json`), JSON.stringify(report, null, 2) + '\n');
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const lines = [
  `# Capture reading and flow metering: packets per second on one core`,
  '',
  `\`node bench/flows.mjs${opt.quick ? ' --quick' : ''}\` on ${report.date.slice(0, 10)}: a synthesized capture (seed ${SYNTH.seed}, ${minutes} minutes, ` +
    `${fmt(packets)} packets, snapshot length ${SYNTH.snapLength}; pcap ${(sizes.pcap / 2 ** 20).toFixed(0)} MiB, pcapng ${(sizes.pcapng / 2 ** 20).toFixed(0)} MiB), ` +
    `medians of ${repeats} runs, each a fresh process${pin.length ? ' pinned to one CPU (taskset -c 0)' : ''}, cells interleaved; ${report.machine.cpus} CPUs (${report.machine.model}), load average ${report.machine.load.map((x) => x.toFixed(1)).join(' ')} at the end, Node ${process.version}.`,
  '',
  '| cell | pcap: seconds | pcap: packets/s | pcapng: seconds | pcapng: packets/s |',
  '|---|---|---|---|---|',
  ...cells.map((c) => {
    const a = results[`pcap/${c}`];
    const b = results[`pcapng/${c}`];
    const label = { read: 'read the bytes (I/O floor)', parse: 'parse the container', flows: '**flows (library: captureFlows)**', cli: '`nal flows` end to end (CSV written)' }[c];
    return `| ${label} | ${a.seconds.toFixed(3)} | ${fmt(a.packetsPerSecond)} | ${b.seconds.toFixed(3)} | ${fmt(b.packetsPerSecond)} |`;
  }),
  '',
  `Flows: ${fmt(results['pcap/flows'].flows)}; at most ${fmt(results['pcap/flows'].peakActiveFlows)} held at once; peak RSS of the flows cell ${results['pcap/flows'].maxRssMb.toFixed(0)} MB.`,
  `Target: at least 1,000,000 packets/s on one core for the library path (flows): ${results['pcap/flows'].packetsPerSecond >= 1e6 && results['pcapng/flows'].packetsPerSecond >= 1e6 ? 'met' : 'NOT met'}.`,
  '',
];
fs.writeFileSync(path.join(ROOT, 'results', opt.quick ? 'FLOWS_BENCH-quick.md' : 'FLOWS_BENCH.md'), lines.join('\n'));
console.log(lines.join('\n'));
