/**
 * A small Jupyter kernel for the executor tests (test/notebooks/executor.test.ts): a real ZeroMQ
 * kernel process with signed messages, whose "language" is one command a line, so a test can make
 * it produce any message sequence:
 *
 *   print TEXT            stream to stdout            stderr TEXT    stream to stderr
 *   display ID HTML       display_data (ID "-": none) update ID HTML  update_display_data
 *   result TEXT           execute_result              clear [wait]   clear_output
 *   error NAME MESSAGE    error output, reply "error" fail TEXT      stderr TEXT, reply "error" (tslab's way)
 *   sleep MS              wait (SIGINT interrupts it: reply "error", KeyboardInterrupt)
 *   hang                  a busy loop no signal stops  die CODE      exit at once
 *   child                 start a child process (its pid printed) that outlives nothing
 *   late TEXT             a stream for this request after the reply and idle
 *   badsig                a stream with a wrong signature (must be dropped)
 *   reply-first           send the reply before the output and the idle status
 *
 * Usage (kernel spec argv): node fake-kernel.mjs {connection_file}
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { decodeMessage, encodeMessage, newMessage } from '../../scripts/notebook/kernel.mjs';

const zmq = createRequire(import.meta.url)('zeromq');
const conn = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const url = (port) => `${conn.transport}://${conn.ip}:${port}`;
const shell = new zmq.Router({ linger: 0 });
const control = new zmq.Router({ linger: 0 });
const iopub = new zmq.Publisher({ linger: 0 });
await Promise.all([shell.bind(url(conn.shell_port)), control.bind(url(conn.control_port)), iopub.bind(url(conn.iopub_port))]);

const session = 'fake-kernel';
let count = 0;
let interrupt = null;
const children = [];
process.on('SIGINT', () => interrupt?.());

const queues = new Map();
function send(sock, frames) {
  const prev = queues.get(sock) ?? Promise.resolve();
  const p = prev.then(() => sock.send(frames));
  queues.set(sock, p.catch(() => undefined));
  return p;
}
const reply = (sock, ids, parent, type, content) => send(sock, encodeMessage(conn.key, newMessage(type, content, { session, parent: parent.header }), ids));
const pub = (parent, type, content, key = conn.key) => send(iopub, encodeMessage(key, newMessage(type, content, { session, parent: parent.header })));
const status = (parent, state) => pub(parent, 'status', { execution_state: state });

async function execute(msg) {
  const n = ++count;
  const lines = String(msg.content.code).split('\n').filter((l) => l.trim());
  let st = 'ok';
  let replyFirst = false;
  const late = [];
  const out = [];
  for (const line of lines) {
    const [cmd, ...rest] = line.trim().split(' ');
    const arg = rest.join(' ');
    if (cmd === 'print') out.push(['stream', { name: 'stdout', text: `${arg}\n` }]);
    else if (cmd === 'stderr') out.push(['stream', { name: 'stderr', text: `${arg}\n` }]);
    else if (cmd === 'display') out.push(['display_data', { data: { 'text/html': rest.slice(1).join(' '), 'text/plain': 'html' }, metadata: {}, transient: rest[0] === '-' ? {} : { display_id: rest[0] } }]);
    else if (cmd === 'update') out.push(['update_display_data', { data: { 'text/html': rest.slice(1).join(' ') }, metadata: {}, transient: { display_id: rest[0] } }]);
    else if (cmd === 'result') out.push(['execute_result', { data: { 'text/plain': arg }, metadata: {}, execution_count: n }]);
    else if (cmd === 'clear') out.push(['clear_output', { wait: arg === 'wait' }]);
    else if (cmd === 'late') late.push(arg);
    else if (cmd === 'reply-first') replyFirst = true;
    else if (cmd === 'badsig') out.push(['badsig', { name: 'stdout', text: `${arg}\n` }]);
    else if (cmd === 'error') {
      out.push(['error', { ename: rest[0], evalue: rest.slice(1).join(' '), traceback: [`${rest[0]}: ${rest.slice(1).join(' ')}`, '  at fake'] }]);
      st = 'error';
      break;
    } else if (cmd === 'fail') {
      out.push(['stream', { name: 'stderr', text: `${arg}\n    at fake-kernel\n` }]);
      st = 'error';
      break;
    } else if (cmd === 'sleep') {
      for (const [t, c] of out.splice(0)) await emit(msg, t, c);
      const interrupted = await new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), Number(arg));
        interrupt = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      interrupt = null;
      if (interrupted) {
        out.push(['stream', { name: 'stderr', text: 'KeyboardInterrupt: interrupted\n' }]);
        st = 'error';
        break;
      }
    } else if (cmd === 'hang') {
      for (const [t, c] of out.splice(0)) await emit(msg, t, c);
      for (;;);
    } else if (cmd === 'die') {
      for (const [t, c] of out.splice(0)) await emit(msg, t, c);
      await new Promise((r) => setTimeout(r, 50));
      process.exit(Number(arg));
    } else if (cmd === 'child') {
      const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      children.push(c);
      out.push(['stream', { name: 'stdout', text: `child ${c.pid}\n` }]);
    } else out.push(['stream', { name: 'stderr', text: `unknown command ${cmd}\n` }]);
  }
  return { st, n, out, late, replyFirst };
}

async function emit(msg, type, content) {
  if (type === 'badsig') await pub(msg, 'stream', content, 'not-the-key');
  else await pub(msg, type, content);
}

async function handleShell(frames) {
  const msg = decodeMessage(conn.key, frames);
  const ids = msg.identities;
  if (msg.msg_type === 'kernel_info_request') {
    await status(msg, 'busy');
    await reply(shell, ids, msg, 'kernel_info_reply', {
      protocol_version: '5.3',
      implementation: 'fake',
      language_info: { name: 'fake', version: '1.0', mimetype: 'text/plain', file_extension: '.txt' },
    });
    await status(msg, 'idle');
    return;
  }
  if (msg.msg_type !== 'execute_request') return;
  await status(msg, 'busy');
  const r = await execute(msg);
  const content = r.st === 'ok' ? { status: 'ok', execution_count: r.n } : { status: 'error', execution_count: r.n, ename: 'Error', evalue: '', traceback: [] };
  if (r.replyFirst) await reply(shell, ids, msg, 'execute_reply', content);
  for (const [t, c] of r.out) await emit(msg, t, c);
  if (!r.replyFirst) await reply(shell, ids, msg, 'execute_reply', content);
  await status(msg, 'idle');
  for (const text of r.late) await pub(msg, 'stream', { name: 'stdout', text: `${text}\n` });
}

(async () => {
  for await (const frames of control) {
    const msg = decodeMessage(conn.key, frames);
    if (msg.msg_type === 'shutdown_request') {
      await reply(control, msg.identities, msg, 'shutdown_reply', { status: 'ok', restart: false });
      for (const c of children) c.kill();
      setTimeout(() => process.exit(0), 20);
    }
  }
})();

for await (const frames of shell) await handleShell(frames);
