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
 * Usage: npm run build && node bench/capture-speed.mjs [--repeats N] [--minutes M] [--quick]
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
  console.error('bench/capture-speed.mjs: build first (npm run build)');
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
// each cell measures wall time and the process's CPU time (user + system, all threads) around
// the work: on a busy machine the wall time includes waiting for the CPU, the CPU time does not
const CPU = 'const cpu0=process.cpuUsage();const cpu=()=>{const c=process.cpuUsage(cpu0);return (c.user+c.system)/1e6};';
const CELL = {
  read: (file) => `${CPU}const fs=require('fs');const t=performance.now();const fd=fs.openSync(${JSON.stringify(file)},'r');const b=Buffer.allocUnsafe(1<<20);let n=0,k;while((k=fs.readSync(fd,b,0,b.length,null))>0)n+=k;console.log(JSON.stringify({seconds:(performance.now()-t)/1000,cpuSeconds:cpu(),bytes:n}));`,
  parse: (file) => `const {forEachPacket}=require(${JSON.stringify(path.join(DIST, 'capture/pcap.js'))});${CPU}(async()=>{const t=performance.now();let n=0;await forEachPacket(${JSON.stringify(file)},()=>{n++});console.log(JSON.stringify({seconds:(performance.now()-t)/1000,cpuSeconds:cpu(),packets:n}));})();`,
  flows: (file) => `const {captureFlows}=require(${JSON.stringify(path.join(DIST, 'capture/flows.js'))});${CPU}(async()=>{const t=performance.now();let f=0;const it=captureFlows(${JSON.stringify(file)});let r;while(!(r=await it.next()).done)f++;console.log(JSON.stringify({seconds:(performance.now()-t)/1000,cpuSeconds:cpu(),packets:r.value.packets,flows:f,peakActiveFlows:r.value.peakActiveFlows,maxRssMb:process.resourceUsage().maxRSS/1024}));})();`,
  // the whole command, from start-up (module loading included) to exit
  cli: (file, out) => `${CPU}const t=performance.now();process.on('exit',()=>process.stdout.write(JSON.stringify({seconds:(performance.now()-t)/1000,cpuSeconds:cpu()})+'\\n'));process.argv=[process.argv[0],'nal','flows','--pcap',${JSON.stringify(file)},'--out',${JSON.stringify(out)},'--quiet'];require(${JSON.stringify(path.join(DIST, 'cli/main.js'))});`,
};

function runCell(cell, file) {
  const code = cell === 'cli' ? CELL.cli(file, path.join(dir, 'flows-out.csv')) : CELL[cell](file);
  const r = spawnSync(pin[0] ?? process.execPath, [...pin.slice(1), ...(pin.length ? [process.execPath] : []), '-e', code], { encoding: 'utf8' });
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
      process.stderr.write(`  ${format} ${cell}: ${r.seconds.toFixed(3)} s wall, ${r.cpuSeconds.toFixed(3)} s CPU\n`);
    }
  }
}
const packets = runs['pcap/flows'][0].packets;
const results = Object.fromEntries(
  Object.entries(runs).map(([k, rs]) => {
    const s = median(rs.map((r) => r.seconds));
    const c = median(rs.map((r) => r.cpuSeconds));
    return [k, { seconds: s, cpuSeconds: c, runs: rs.map((r) => [r.seconds, r.cpuSeconds]), packetsPerSecond: packets / s, packetsPerCpuSecond: packets / c, ...(rs[0].flows ? { flows: rs[0].flows, peakActiveFlows: rs[0].peakActiveFlows, maxRssMb: Math.max(...rs.map((r) => r.maxRssMb)) } : {}) }];
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
  `\`node bench/capture-speed.mjs${opt.quick ? ' --quick' : ''}\` on ${report.date.slice(0, 10)}: a synthesized capture (seed ${SYNTH.seed}, ${minutes} minutes, ` +
    `${fmt(packets)} packets, snapshot length ${SYNTH.snapLength}; pcap ${(sizes.pcap / 2 ** 20).toFixed(0)} MiB, pcapng ${(sizes.pcapng / 2 ** 20).toFixed(0)} MiB), ` +
    `medians of ${repeats} runs, each a fresh process${pin.length ? ' pinned to one CPU (taskset -c 0)' : ''}, cells interleaved; ${report.machine.cpus} CPUs (${report.machine.model}), load average ${report.machine.load.map((x) => x.toFixed(1)).join(' ')} at the end, Node ${process.version}.`,
  '',
  'Packets per second of CPU time (user + system of the process, all threads: what one core does when it is not shared) and, in brackets, of wall time (which on a busy machine includes waiting for a CPU):',
  '',
  '| cell | pcap: CPU s (wall s) | pcap: packets/s CPU (wall) | pcapng: CPU s (wall s) | pcapng: packets/s CPU (wall) |',
  '|---|---|---|---|---|',
  ...cells.map((c) => {
    const a = results[`pcap/${c}`];
    const b = results[`pcapng/${c}`];
    const label = { read: 'read the bytes (I/O floor)', parse: 'parse the container', flows: '**flows (library: captureFlows)**', cli: '`nal flows` end to end (start-up, CSV written)' }[c];
    return `| ${label} | ${a.cpuSeconds.toFixed(3)} (${a.seconds.toFixed(3)}) | ${fmt(a.packetsPerCpuSecond)} (${fmt(a.packetsPerSecond)}) | ${b.cpuSeconds.toFixed(3)} (${b.seconds.toFixed(3)}) | ${fmt(b.packetsPerCpuSecond)} (${fmt(b.packetsPerSecond)}) |`;
  }),
  '',
  `Flows: ${fmt(results['pcap/flows'].flows)}; at most ${fmt(results['pcap/flows'].peakActiveFlows)} held at once; peak RSS of the flows cell ${results['pcap/flows'].maxRssMb.toFixed(0)} MB.`,
  `Target: at least 1,000,000 packets/s on one core for the library path (flows), per CPU second: ${results['pcap/flows'].packetsPerCpuSecond >= 1e6 && results['pcapng/flows'].packetsPerCpuSecond >= 1e6 ? 'met' : 'NOT met'}; per wall second: ${results['pcap/flows'].packetsPerSecond >= 1e6 && results['pcapng/flows'].packetsPerSecond >= 1e6 ? 'met' : 'not met'} (load average ${report.machine.load[0].toFixed(1)} on ${report.machine.cpus} CPUs).`,
  '',
];
fs.writeFileSync(path.join(ROOT, 'results', opt.quick ? 'FLOWS_BENCH-quick.md' : 'FLOWS_BENCH.md'), lines.join('\n'));
console.log(lines.join('\n'));
