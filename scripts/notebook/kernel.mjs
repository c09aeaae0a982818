/**
 * A Jupyter kernel client in Node: starts a kernel from its kernel spec (kernel.json), writes its
 * connection file, and talks to it over ZeroMQ with HMAC-SHA256-signed messages (Jupyter messaging
 * protocol 5.3). Used by execute.mjs to run notebooks without Python; tslab, the project's kernel,
 * is itself a Node program with this ZeroMQ binding.
 *
 * Sockets, as jupyter_client opens them: shell and control are DEALERs (requests and replies),
 * iopub a SUBSCRIBER to everything (outputs and busy/idle status), stdin and heartbeat are not
 * used (cells get no input; the kernel's exit is watched directly). The kernel runs in its own
 * process group, so an interrupt (SIGINT) and the final kill reach every process it started and
 * nothing outlives the run.
 *
 * Reference: https://jupyter-client.readthedocs.io/en/stable/messaging.html
 */
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';

/** The delimiter between ZeroMQ routing frames and a Jupyter message. */
const DELIM = Buffer.from('<IDS|MSG>');
export const PROTOCOL_VERSION = '5.3';

/**
 * An error of the kernel or the connection to it. `code` says which:
 * `no-kernelspec`, `startup` (did not start or answer in time), `dead` (the process exited),
 * `signature` (a message with a bad HMAC), `closed` (used after shutdown).
 */
export class KernelError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   * @param {string} [stderr] the last lines the kernel process wrote to stderr/stdout
   */
  constructor(message, code, stderr = '') {
    super(message);
    this.name = 'KernelError';
    this.code = code;
    this.stderr = stderr;
  }
}

// ---------------------------------------------------------------------------------------------
// messages

/**
 * The HMAC-SHA256 signature of a message's four JSON frames, hex (empty key: no signing).
 * @param {string} key
 * @param {(string|Buffer)[]} frames header, parent_header, metadata, content
 */
export function sign(key, frames) {
  if (!key) return '';
  const h = createHmac('sha256', key);
  for (const f of frames) h.update(f);
  return h.digest('hex');
}

/**
 * A new message (header with a fresh msg_id, the given parent header or `{}`).
 * @param {string} msgType e.g. `execute_request`
 * @param {object} content
 * @param {{ session: string, username?: string, parent?: object, metadata?: object }} opts
 */
export function newMessage(msgType, content, { session, username = os.userInfo().username, parent = {}, metadata = {} }) {
  return {
    header: { msg_id: randomUUID(), msg_type: msgType, session, username, date: new Date().toISOString(), version: PROTOCOL_VERSION },
    parent_header: parent,
    metadata,
    content,
    buffers: [],
  };
}

/**
 * The wire frames of a message: routing ids, `<IDS|MSG>`, signature, header, parent header,
 * metadata, content, buffers.
 * @param {string} key the connection's HMAC key
 * @param {{header: object, parent_header: object, metadata: object, content: object, buffers?: Buffer[]}} msg
 * @param {Buffer[]} [identities]
 */
export function encodeMessage(key, msg, identities = []) {
  const parts = [msg.header, msg.parent_header ?? {}, msg.metadata ?? {}, msg.content ?? {}].map((p) => JSON.stringify(p));
  return [...identities, DELIM, sign(key, parts), ...parts, ...(msg.buffers ?? [])];
}

/**
 * Parses and verifies wire frames (as {@link encodeMessage} writes them).
 * @param {string} key
 * @param {Buffer[]} frames
 * @returns {{ identities: Buffer[], header: any, parent_header: any, metadata: any, content: any, buffers: Buffer[], msg_type: string }}
 * @throws KernelError (code `signature`) on a bad signature, or when frames are missing
 */
export function decodeMessage(key, frames) {
  const at = frames.findIndex((f) => Buffer.from(f).equals(DELIM));
  if (at < 0 || frames.length < at + 6) throw new KernelError(`malformed message: ${frames.length} frames, delimiter at ${at}`, 'signature');
  const signature = Buffer.from(frames[at + 1]).toString();
  const parts = frames.slice(at + 2, at + 6);
  const want = sign(key, parts);
  if (key) {
    const a = Buffer.from(signature, 'utf8');
    const b = Buffer.from(want, 'utf8');
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new KernelError('message with an invalid HMAC signature', 'signature');
  }
  const [header, parent, metadata, content] = parts.map((p) => JSON.parse(Buffer.from(p).toString('utf8')));
  return {
    identities: frames.slice(0, at),
    header,
    parent_header: parent,
    metadata,
    content,
    buffers: frames.slice(at + 6),
    msg_type: header.msg_type,
  };
}

// ---------------------------------------------------------------------------------------------
// kernel specs and connection files

/**
 * The per-user Jupyter data dir, as jupyter_core's `jupyter_data_dir()`: `$JUPYTER_DATA_DIR`, else
 * ~/.local/share/jupyter (or `$XDG_DATA_HOME/jupyter`), ~/Library/Jupyter on macOS,
 * %APPDATA%\jupyter on Windows.
 * @param {NodeJS.ProcessEnv} [env]
 */
export function jupyterUserDataDir(env = process.env) {
  const home = env.HOME ?? os.homedir();
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Jupyter');
  if (process.platform === 'win32') return path.join(env.APPDATA ?? home, 'jupyter');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
}

/**
 * Folders searched for `kernels/NAME/kernel.json`, in Jupyter's order: `$JUPYTER_PATH` entries,
 * the per-user data dir, then the system dirs.
 * @param {NodeJS.ProcessEnv} [env]
 */
export function jupyterDataDirs(env = process.env) {
  const system = process.platform === 'win32' ? [path.join(env.PROGRAMDATA ?? 'C:\\ProgramData', 'jupyter')] : ['/usr/local/share/jupyter', '/usr/share/jupyter'];
  const fromEnv = (env.JUPYTER_PATH ?? '').split(path.delimiter).filter(Boolean);
  return [...new Set([...fromEnv, jupyterUserDataDir(env), ...system])];
}

/**
 * The kernel spec `name` (kernel.json) from the first folder of `dirs` that has it.
 * @param {string} name e.g. `tslab`
 * @param {string[]} [dirs] data dirs (each holding `kernels/`); default {@link jupyterDataDirs}
 * @returns {{ name: string, file: string, argv: string[], display_name: string, language: string, interrupt_mode: string, env: Record<string,string> }}
 * @throws KernelError (code `no-kernelspec`) naming the folders searched
 */
export function findKernelSpec(name, dirs = jupyterDataDirs()) {
  for (const d of dirs) {
    const file = path.join(d, 'kernels', name, 'kernel.json');
    if (!fs.existsSync(file)) continue;
    let spec;
    try {
      spec = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new KernelError(`${file}: not valid JSON (${e.message})`, 'no-kernelspec');
    }
    if (!Array.isArray(spec.argv) || spec.argv.length === 0 || !spec.argv.every((a) => typeof a === 'string')) {
      throw new KernelError(`${file}: "argv" must be a non-empty list of strings`, 'no-kernelspec');
    }
    return { interrupt_mode: 'signal', env: {}, display_name: name, language: '', ...spec, name, file };
  }
  throw new KernelError(`no kernel spec "${name}" in ${dirs.map((d) => path.join(d, 'kernels')).join(', ')}`, 'no-kernelspec');
}

/**
 * `n` TCP ports that are free on `ip` right now (all held open together, then released, so the
 * same call never returns one port twice).
 * @param {number} n
 * @param {string} [ip]
 * @returns {Promise<number[]>}
 */
export async function freePorts(n, ip = '127.0.0.1') {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, ip, resolve);
      });
    }
    return servers.map((s) => /** @type {net.AddressInfo} */ (s.address()).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
}

/**
 * A new connection description (ports, transport, HMAC key) as Jupyter writes connection files.
 * @param {{ ip?: string, kernelName?: string }} [opts]
 */
export async function newConnectionInfo({ ip = '127.0.0.1', kernelName = '' } = {}) {
  const [shell, iopub, stdin, control, hb] = await freePorts(5, ip);
  return {
    shell_port: shell,
    iopub_port: iopub,
    stdin_port: stdin,
    control_port: control,
    hb_port: hb,
    ip,
    key: randomBytes(32).toString('hex'),
    transport: 'tcp',
    signature_scheme: 'hmac-sha256',
    kernel_name: kernelName,
  };
}

// ---------------------------------------------------------------------------------------------
// the client

let zmqModule;
/** The `zeromq` package (the project's devDependency, the same version tslab loads). */
function zmq() {
  if (!zmqModule) {
    try {
      zmqModule = createRequire(import.meta.url)('zeromq');
    } catch (e) {
      throw new KernelError(`the zeromq package is missing (${e.message}): run \`npm install\``, 'startup');
    }
  }
  return zmqModule;
}

/** Serialises sends on one socket (zeromq 6 rejects a send while another is pending). */
class SendQueue {
  constructor(socket) {
    this.socket = socket;
    this.tail = Promise.resolve();
  }
  send(frames) {
    const p = this.tail.then(() => this.socket.send(frames));
    this.tail = p.catch(() => undefined);
    return p;
  }
}

/** The last `max` characters of a growing text. */
class Tail {
  constructor(max = 16_000) {
    this.max = max;
    this.text = '';
  }
  push(s) {
    this.text = (this.text + s).slice(-this.max);
  }
}

/**
 * A running kernel: its process, its sockets and the requests in flight. Create with
 * {@link startKernel}.
 *
 * Messages on iopub are routed by their parent's msg_id to the listener given to {@link request};
 * messages of other parents (late output of an earlier request) go to `onStray`.
 */
export class KernelClient {
  /** @internal */
  constructor({ child, connection, connectionFile, spec, session, log }) {
    this.child = child;
    this.connection = connection;
    this.connectionFile = connectionFile;
    this.spec = spec;
    this.session = session;
    this.log = log;
    /** @type {Map<string, { onReply: (m:any)=>void, onIopub?: (m:any)=>void }>} */
    this.pending = new Map();
    this.onStray = undefined;
    this.output = new Tail();
    this.exited = false;
    this.exitInfo = null;
    this.closed = false;
    // the last words of a dying kernel may still be in its pipes when it exits: wait for them
    // (briefly: a process it started can hold the pipes open)
    const drained = Promise.all(
      [child.stdout, child.stderr].filter(Boolean).map((stream) => new Promise((resolve) => (stream.readableEnded ? resolve() : stream.once('end', resolve)))),
    );
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', async (code, signal) => {
        await Promise.race([drained, sleep(200)]);
        this.exited = true;
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        const why = new KernelError(`the kernel exited (${describeExit(code, signal)})`, 'dead', this.output.text);
        for (const [, p] of this.pending) p.onDead?.(why);
      });
    });
    child.stdout?.on('data', (b) => this.output.push(String(b)));
    child.stderr?.on('data', (b) => this.output.push(String(b)));
  }

  /** @internal opens the sockets and starts the receive loops */
  open() {
    const z = zmq();
    const { ip, transport } = this.connection;
    const url = (port) => `${transport}://${ip}:${port}`;
    const opts = { linger: 0 };
    this.shell = new z.Dealer(opts);
    this.control = new z.Dealer(opts);
    this.iopub = new z.Subscriber(opts);
    this.shell.connect(url(this.connection.shell_port));
    this.control.connect(url(this.connection.control_port));
    this.iopub.connect(url(this.connection.iopub_port));
    this.iopub.subscribe();
    this.queues = { shell: new SendQueue(this.shell), control: new SendQueue(this.control) };
    for (const [name, sock] of [['shell', this.shell], ['control', this.control], ['iopub', this.iopub]]) this.receiveLoop(name, sock);
  }

  async receiveLoop(channel, socket) {
    try {
      for await (const frames of socket) {
        let msg;
        try {
          msg = decodeMessage(this.connection.key, frames);
        } catch (e) {
          this.log?.(`kernel ${channel}: dropped a message: ${e.message}`);
          continue;
        }
        msg.channel = channel;
        const parentId = msg.parent_header?.msg_id;
        const p = parentId ? this.pending.get(parentId) : undefined;
        if (channel === 'iopub') {
          if (p?.onIopub) p.onIopub(msg);
          else this.onStray?.(msg);
        } else if (p) {
          p.onReply(msg);
        }
      }
    } catch (e) {
      if (!this.closed) this.log?.(`kernel ${channel} socket: ${e.message}`);
    }
  }

  /**
   * Sends a request on shell or control. `onReply` gets the reply, `onIopub` every iopub message
   * whose parent is this request; `onDead` is called if the kernel exits before {@link forget}.
   * @param {'shell'|'control'} channel
   * @param {string} msgType
   * @param {object} content
   * @param {{ onReply?: (m:any)=>void, onIopub?: (m:any)=>void, onDead?: (e:KernelError)=>void, metadata?: object }} [handlers]
   * @returns {Promise<string>} the request's msg_id
   */
  async request(channel, msgType, content, handlers = {}) {
    if (this.closed) throw new KernelError('the kernel connection is closed', 'closed');
    if (this.exited) throw new KernelError(`the kernel exited (${describeExit(this.exitInfo.code, this.exitInfo.signal)})`, 'dead', this.output.text);
    const msg = newMessage(msgType, content, { session: this.session, metadata: handlers.metadata });
    const id = msg.header.msg_id;
    this.pending.set(id, { onReply: handlers.onReply ?? (() => {}), onIopub: handlers.onIopub, onDead: handlers.onDead });
    await this.queues[channel].send(encodeMessage(this.connection.key, msg));
    return id;
  }

  /** Stops routing messages of request `msgId` to its handlers. */
  forget(msgId) {
    this.pending.delete(msgId);
  }

  /**
   * Sends a request and waits for its reply.
   * @param {'shell'|'control'} channel
   * @param {string} msgType
   * @param {object} content
   * @param {number} timeoutMs
   * @returns {Promise<any>} the reply message, or null when none came in time
   */
  async ask(channel, msgType, content, timeoutMs) {
    let id;
    const reply = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      this.request(channel, msgType, content, {
        onReply: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        onDead: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      }).then((i) => (id = i), reject);
    });
    if (id) this.forget(id);
    return reply;
  }

  /**
   * Waits until the kernel answers a kernel_info_request and its iopub messages arrive (a ZeroMQ
   * subscriber only gets messages published after it has connected, so the request is repeated
   * until the kernel's busy/idle status for it comes through).
   * @param {number} timeoutMs
   * @returns {Promise<any>} the kernel_info_reply content
   */
  async waitForReady(timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let info = null;
    while (Date.now() < deadline) {
      let sawIopub = false;
      let id;
      const got = await new Promise((resolve, reject) => {
        const wait = Math.min(info ? 500 : 2000, Math.max(1, deadline - Date.now()));
        const timer = setTimeout(() => resolve(null), wait);
        const done = (m) => {
          if (m) info = m.content;
          if (info && sawIopub) {
            clearTimeout(timer);
            resolve(info);
          }
        };
        this.request('shell', 'kernel_info_request', {}, {
          onReply: done,
          onIopub: () => {
            sawIopub = true;
            done(null);
          },
          onDead: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        }).then((i) => (id = i), reject);
      });
      if (id) this.forget(id);
      if (got) return got;
    }
    throw new KernelError(`the kernel did not answer within ${Math.round(timeoutMs / 1000)} s`, 'startup', this.output.text);
  }

  /**
   * Interrupts the running cell: SIGINT to the kernel's process group (`interrupt_mode: signal`,
   * what tslab handles), or an interrupt_request on control (`interrupt_mode: message`).
   */
  async interrupt() {
    if (this.exited) return;
    if (this.spec.interrupt_mode === 'message') {
      await this.ask('control', 'interrupt_request', {}, 5000).catch(() => null);
      return;
    }
    this.signal('SIGINT');
  }

  /** Sends `sig` to the kernel's process group (its own process where groups do not exist). */
  signal(sig) {
    const pid = this.child.pid;
    if (!pid) return;
    try {
      if (process.platform !== 'win32') process.kill(-pid, sig);
      else this.child.kill(sig);
    } catch {
      /* already gone */
    }
  }

  /** Whether any process of the kernel's group is still running. */
  groupAlive() {
    const pid = this.child.pid;
    if (!pid) return false;
    if (process.platform === 'win32') return !this.exited;
    try {
      process.kill(-pid, 0);
      return true;
    } catch (e) {
      return e.code === 'EPERM';
    }
  }

  /**
   * Shuts the kernel down: a shutdown_request on control, then SIGTERM and SIGKILL to its process
   * group if any process is left after `graceMs` (a notebook can leave timers, workers or child
   * processes behind). Closes the sockets and removes the connection file. Never throws.
   * @param {{ graceMs?: number, now?: boolean }} [opts] `now`: skip the request (the kernel is stuck)
   */
  async shutdown({ graceMs = 3000, now = false } = {}) {
    if (this.closed) return;
    if (!now && !this.exited) {
      await this.ask('control', 'shutdown_request', { restart: false }, graceMs).catch(() => null);
      await Promise.race([this.exitPromise, sleep(graceMs)]);
    }
    for (const [sig, wait] of [['SIGTERM', 2000], ['SIGKILL', 2000]]) {
      if (!this.groupAlive()) break;
      this.signal(sig);
      const until = Date.now() + wait;
      while (this.groupAlive() && Date.now() < until) await sleep(50);
    }
    this.close();
    if (!this.exited) await Promise.race([this.exitPromise, sleep(2000)]);
  }

  /** Closes the sockets and removes the connection file (the process is left alone). */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub]) {
      try {
        s?.close();
      } catch {
        /* closed */
      }
    }
    fs.rmSync(this.connectionFile, { force: true });
    liveKernels.delete(this);
  }
}

function describeExit(code, signal) {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Kernels of this process that are not shut down yet: killed when the process exits. */
const liveKernels = new Set();
let exitHooked = false;
function hookExit() {
  if (exitHooked) return;
  exitHooked = true;
  process.on('exit', killAllKernels);
}

/**
 * Kills (SIGKILL, whole process group) every kernel this process started and has not shut down,
 * and removes their connection files. Synchronous, so it can run in an `exit` handler; a command
 * line tool calls it from its SIGINT/SIGTERM handlers too (kernels run in their own process
 * groups, so a Ctrl-C in the terminal does not reach them).
 * @returns how many kernels were killed
 */
export function killAllKernels() {
  let n = 0;
  for (const k of liveKernels) {
    k.signal('SIGKILL');
    try {
      fs.rmSync(k.connectionFile, { force: true });
    } catch {
      /* gone */
    }
    liveKernels.delete(k);
    n++;
  }
  return n;
}

/**
 * Starts a kernel from its spec and connects to it; resolves once it answers.
 *
 * @param {object} opts
 * @param {ReturnType<typeof findKernelSpec>} opts.spec the kernel spec (argv with `{connection_file}`)
 * @param {string} [opts.cwd] the kernel's working folder (a notebook's own folder)
 * @param {NodeJS.ProcessEnv} [opts.env] its environment (the spec's `env` is merged over it)
 * @param {string} [opts.runtimeDir] where the connection file goes (default the OS temp dir)
 * @param {number} [opts.startupTimeoutMs] default 60 s
 * @param {(line: string) => void} [opts.log]
 * @returns {Promise<KernelClient & { info: any }>} the client, with `info` = kernel_info_reply content
 * @throws KernelError (`startup` or `dead`) with the kernel's own output
 */
export async function startKernel({ spec, cwd = process.cwd(), env = process.env, runtimeDir = os.tmpdir(), startupTimeoutMs = 60_000, log } = {}) {
  const connection = await newConnectionInfo({ kernelName: spec.name });
  fs.mkdirSync(runtimeDir, { recursive: true });
  const connectionFile = path.join(runtimeDir, `kernel-${randomUUID()}.json`);
  fs.writeFileSync(connectionFile, JSON.stringify(connection, null, 1), { mode: 0o600 });
  const argv = spec.argv.map((a) => a.replace(/\{connection_file\}/g, connectionFile));
  const win = process.platform === 'win32';
  let child;
  try {
    child = spawn(argv[0], argv.slice(1), {
      cwd,
      env: { ...env, ...(spec.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
      // own process group: interrupts and the final kill reach every process the kernel starts
      detached: !win,
      // npm's .cmd shims need a shell on Windows
      shell: win && /\.(cmd|bat)$/i.test(argv[0]),
      windowsHide: true,
    });
  } catch (e) {
    fs.rmSync(connectionFile, { force: true });
    throw new KernelError(`could not start the kernel ${argv[0]}: ${e.message}`, 'startup');
  }
  const spawnError = new Promise((resolve) => child.once('error', resolve));
  const client = new KernelClient({ child, connection, connectionFile, spec, session: randomUUID(), log });
  liveKernels.add(client);
  hookExit();
  try {
    client.open();
    const info = await Promise.race([
      client.waitForReady(startupTimeoutMs),
      spawnError.then((e) => {
        throw new KernelError(`could not start the kernel ${argv[0]}: ${e.message}`, 'startup');
      }),
    ]);
    client.info = info;
    return client;
  } catch (e) {
    await client.shutdown({ now: true });
    if (e instanceof KernelError && e.code === 'dead') {
      throw new KernelError(`the kernel exited while starting (${describeExit(client.exitInfo?.code, client.exitInfo?.signal)})`, 'startup', client.output.text);
    }
    throw e;
  }
}
