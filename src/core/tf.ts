/**
 * Lazy TensorFlow.js loader. Importing this file costs nothing: `@tensorflow/tfjs` is required the
 * first time {@link loadTf} is called, so the CLI and the other detectors never pay its import.
 *
 * Backend choice, once per process:
 * 1. the environment variable `NAL_TF_BACKEND` = `node` | `wasm` | `cpu`, when set;
 * 2. else the native `@tensorflow/tfjs-node` when it is really installed (backend `tensorflow`);
 * 3. else `@tensorflow/tfjs-backend-wasm` (SIMD, single thread under Node);
 * 4. else the pure-JS `cpu` backend.
 */
import * as path from 'path';

type Tf = typeof import('@tensorflow/tfjs');

/** The backends {@link loadTf} can be asked for through `NAL_TF_BACKEND`. */
export type TfBackendChoice = 'node' | 'wasm' | 'cpu';

const BACKEND_CHOICES: readonly TfBackendChoice[] = ['node', 'wasm', 'cpu'];

let pending: Promise<Tf> | undefined;
let loaded: Tf | undefined;

/**
 * The TensorFlow.js module, loaded and initialised once (memoised).
 *
 * @returns the `@tensorflow/tfjs` namespace (the `@tensorflow/tfjs-node` namespace, which re-exports
 *   it, when the native backend is used) with its backend ready
 * @throws Error when `NAL_TF_BACKEND` names an unknown backend, or a backend it names cannot start
 * @remarks tfjs's one-time console banner ("looks like you are running TensorFlow.js in Node.js")
 *   and its backend-initialisation warnings are silenced while loading; `console` is restored
 *   afterwards. Native TensorFlow's C++ info logs are silenced with `TF_CPP_MIN_LOG_LEVEL=2` when
 *   the variable is unset.
 * @example
 * ```ts
 * const tf = await loadTf();
 * tfBackendName(); // "wasm" on a machine without tfjs-node
 * ```
 */
export function loadTf(): Promise<Tf> {
  if (!pending) {
    pending = initTf().then(
      (tf) => (loaded = tf),
      (err) => {
        pending = undefined;
        throw err;
      },
    );
  }
  return pending;
}

/**
 * Name of the active TensorFlow.js backend (`"tensorflow"`, `"wasm"` or `"cpu"`), or `"none"`
 * before {@link loadTf} has resolved.
 */
export function tfBackendName(): string {
  return loaded ? loaded.getBackend() : 'none';
}

async function initTf(): Promise<Tf> {
  const raw = process.env.NAL_TF_BACKEND?.trim().toLowerCase();
  const requested = raw ? (raw as TfBackendChoice) : undefined;
  if (requested !== undefined && !BACKEND_CHOICES.includes(requested)) {
    throw new Error(`NAL_TF_BACKEND must be one of ${BACKEND_CHOICES.join(', ')}. Got ${JSON.stringify(process.env.NAL_TF_BACKEND)}.`);
  }
  return withQuietConsole(async () => {
    if (requested === 'node' || (requested === undefined && nativeTfjsNodePath() !== undefined)) {
      const tf = await startTfjsNode();
      if (tf) return tf;
      if (requested === 'node') {
        throw new Error('NAL_TF_BACKEND=node, but @tensorflow/tfjs-node is not installed (or failed to load).');
      }
    }
    const tf = require('@tensorflow/tfjs') as Tf;
    if (requested !== 'cpu') {
      if (await startWasm(tf)) {
        consumeCpuBanner(tf); // in case anything later falls back to the registered cpu backend
        return tf;
      }
      if (requested === 'wasm') throw new Error('NAL_TF_BACKEND=wasm, but the TensorFlow.js wasm backend failed to start.');
    }
    if (!(await tf.setBackend('cpu'))) throw new Error('The TensorFlow.js cpu backend failed to start.');
    await tf.ready();
    consumeCpuBanner(tf);
    return tf;
  });
}

/** Path of the real `@tensorflow/tfjs-node` package.json, or undefined (an npm alias of plain tfjs does not count). */
function nativeTfjsNodePath(): string | undefined {
  for (const paths of [undefined, [process.cwd()]]) {
    try {
      const p = require.resolve('@tensorflow/tfjs-node/package.json', paths ? { paths } : undefined);
      const pkg = require(p) as { name?: string };
      if (pkg.name === '@tensorflow/tfjs-node') return p;
    } catch {
      // not resolvable from here
    }
  }
  return undefined;
}

async function startTfjsNode(): Promise<Tf | undefined> {
  const pkgJson = nativeTfjsNodePath();
  if (!pkgJson) return undefined;
  const hadLogLevel = process.env.TF_CPP_MIN_LOG_LEVEL !== undefined;
  if (!hadLogLevel) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  let tf: Tf;
  try {
    tf = require(path.dirname(pkgJson)) as Tf; // registers and selects the 'tensorflow' backend
  } catch {
    return undefined;
  } finally {
    if (!hadLogLevel) delete process.env.TF_CPP_MIN_LOG_LEVEL;
  }
  try {
    if (tf.getBackend() !== 'tensorflow' && !(await tf.setBackend('tensorflow'))) return undefined;
    await tf.ready();
    return tf.getBackend() === 'tensorflow' ? tf : undefined;
  } catch {
    return undefined;
  }
}

async function startWasm(tf: Tf): Promise<boolean> {
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    // The .wasm binaries ship beside the package's main file (dist/); file:// fetch is unavailable.
    wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
    if (!(await tf.setBackend('wasm'))) return false;
    await tf.ready();
    return tf.getBackend() === 'wasm';
  } catch {
    return false;
  }
}

/**
 * The cpu backend prints its "install the node backend" banner on its first tensor write. Trigger
 * that write now, while the console is quiet, so it never reaches a notebook or the CLI later.
 */
function consumeCpuBanner(tf: Tf): void {
  try {
    const cpu = tf.findBackend('cpu');
    if (!cpu) return;
    const id = cpu.write(new Float32Array(1), [1], 'float32');
    cpu.disposeData(id);
  } catch {
    // cosmetic only
  }
}

async function withQuietConsole<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, warn: console.warn, info: console.info };
  const quiet = (): void => {};
  console.log = quiet;
  console.warn = quiet;
  console.info = quiet;
  try {
    return await fn();
  } finally {
    console.log = saved.log;
    console.warn = saved.warn;
    console.info = saved.info;
  }
}
