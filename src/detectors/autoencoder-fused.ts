/**
 * Fused training engine of the {@link Autoencoder}: forward pass, backward pass and Adam for its
 * dense relu MLP in plain TypeScript over preallocated Float64Arrays, with no allocation per step.
 *
 * TF.js runs a batch-32 step as ~100 small kernels whose per-op overhead (about 3-4 ms a step on
 * the wasm backend) dwarfs the arithmetic (~0.6 M multiply-adds). This engine does the same
 * arithmetic in a few tight loops, and the same maths as the TF.js loop of `autoencoder.ts`:
 *
 * - layers `sizes[0] → sizes[1] → … → sizes[L]`, relu on every layer but the last (linear);
 *   kernels row-major `[in][out]` exactly as TF.js stores them, so weights copy over unchanged;
 * - inverted dropout after the first `dropoutLayers` hidden layers: `h = relu(z) * mask`, masks
 *   filled by the caller from the library's seeded {@link Random} in the TF.js loop's order;
 * - loss `mean((out - x)^2)` over the batch's rows and features, gradient `2 (out - x) / (b d)`;
 *   relu's derivative is TF.js's `step(y)` (1 where the output is > 0, else 0);
 * - Adam as `tf.train.adam`: `m = b1 m + (1 - b1) g`, `v = b2 v + (1 - b2) g²`,
 *   `w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`.
 *
 * Arithmetic is float64 (TF.js: float32), so a run agrees with the TF.js engine to float32
 * rounding (relative ~1e-6 over the first tens of steps), not bit for bit. Over thousands of
 * steps training amplifies any rounding difference (a 1e-6 change of the inputs moves TF.js's own
 * loss by ~1e-3 after two epochs on the seed data), so long runs of the two engines end at
 * different, equally good weights, as two backends would. Zeros of relu and dropout are skipped
 * in the multiply-adds (an exact shortcut: the skipped terms are 0).
 *
 * The kernels run as WebAssembly SIMD where available (`autoencoder-wasm.ts`: generated for the
 * layer sizes, 4 rows x 4 outputs per pass, two float64 multiply-adds per instruction; the
 * network's buffers then live in its own shared WebAssembly memory): NSL-KDD's 122 columns, one
 * thread, 3.0x faster a epoch than the generated JavaScript, mnist's 100 columns 3.4x, and
 * InternetAds' 1,555 columns about 9x (that JavaScript grew too large for V8 to optimise). Else a
 * kernel specialised for the layer sizes is generated with {@link compileKernel} when code
 * generation is allowed: one small function per layer and pass (V8 does not optimise very large
 * functions), sizes and offsets as literals, and register blocking (8 output columns in locals
 * over the nonzero inputs, 4 units at a time in the input gradient). Both do the generic loops'
 * arithmetic in the same order, so their results are identical to theirs (tested). The generic
 * loops below are the fallback and the reference.
 *
 * Two threads. A step is a row pass (forward, output gradient, each layer's input gradient: row by
 * row independent) then a weight pass (each weight's gradient summed over the rows in order, and
 * its Adam update). In a worker run the network's buffers live in shared memory
 * ({@link FusedMlp.buffers}) and a helper worker can join at any step boundary
 * ({@link FusedWorkerRun.addHelper}): the helper takes part of the rows of the row pass and about half
 * the layers of the weight pass, the two meeting at atomic counters (busy-waiting, as a phase
 * lasts ~0.1 ms). Every value is computed by the same code from the same inputs whichever thread
 * runs it, so the weights are bit-identical to a one-thread run (tested). Measured (10,000 rows x
 * 30 epochs, 2 cores): 2.9 s -> 1.95 s. The stepping thread writes the next batch (rows, dropout
 * masks) while the helper computes its rows, so the helper takes 56% of them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Random, type RandomState } from '../core/random';
import { compileKernel } from '../compute/parallel';
import type { WasmMemory } from '../compute/wasm';
import { instantiateMlp, mlpKernels, type LayerShape } from './autoencoder-wasm';

/** Layer shapes and dropout of a fused MLP. */
export interface FusedMlpSpec {
  /** Units per layer, input first: `[d, ...hiddenLayers, d]`. */
  sizes: readonly number[];
  /** Largest batch the buffers hold. */
  maxBatch: number;
  /** Hidden layers (the first ones) followed by dropout; 0 when the rate is 0. */
  dropoutLayers: number;
  /** Adam's hyper-parameters. */
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** One forward + backward pass over the first `b` rows of `act[0]` into `g`; returns the batch loss. `ix`, `xv`: scratch. */
type StepKernel = (p: Float64Array, g: Float64Array, act: Float64Array[], delta: Float64Array[], masks: Float64Array[], b: number, ix: Int32Array, xv: Float64Array) => number;

/**
 * A dense relu MLP with its Adam state, trained one batch at a time.
 *
 * Parameters live in one flat array in TF.js's variable order (layer 0 kernel, layer 0 bias,
 * layer 1 kernel, ...), which is also the order of the weights in a saved `weights.bin`.
 */
export class FusedMlp {
  readonly sizes: readonly number[];
  readonly maxBatch: number;
  readonly dropoutLayers: number;
  /** All parameters, flat: kernel 0 (`sizes[0]` x `sizes[1]`, row-major), bias 0, kernel 1, ... */
  readonly params: Float64Array;
  /** Offsets of each layer's kernel and bias in {@link params}. */
  readonly kernelOffset: number[] = [];
  readonly biasOffset: number[] = [];
  /** The input batch (`maxBatch` x `sizes[0]`, row-major): fill `input.subarray(0, b * d)` before {@link trainStep}. */
  get input(): Float64Array {
    return this.sets[this.cur].act[0];
  }
  /** Dropout masks (`maxBatch` x units of hidden layer k): values 0 or the keep scale. */
  get masks(): Float64Array[] {
    return this.sets[this.cur].masks;
  }
  /** Adam steps taken. */
  steps = 0;
  /** Steps split with a helper thread (see {@link FusedMlp.buffers}). */
  splitSteps = 0;
  /** Whether a ready helper shares the next step (see {@link HelperPolicy}). */
  readonly helperPolicy = new HelperPolicy(helperMode());
  /** Whether a specialised kernel (generated JavaScript or WebAssembly) is in use. */
  readonly specialised: boolean;
  /** Whether the WebAssembly SIMD kernels are in use (the buffers then live in their memory). */
  readonly wasm: boolean;
  /** The WebAssembly memory holding every buffer (when {@link wasm}). */
  private readonly memory?: WasmMemory;
  /** Per hidden layer, its kernel transposed (`nout x nin`), for the WebAssembly input gradients. */
  private readonly wt?: Float64Array[];
  private readonly onesMasks?: Float64Array[];
  /** The WebAssembly Adam update (same values as {@link adamRange}'s loop), when the WebAssembly kernels run. */
  private readonly wasmAdam?: (...args: number[]) => void;

  private readonly grads: Float64Array;
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  /**
   * Two batch buffers: act[l] the input of layer l (act[0] the input batch, its own per set;
   * the hidden layers' buffers are the same in both) and the dropout masks. A step trains on the
   * current one while its `prepareNext` writes the next batch into the other.
   */
  private sets: { act: Float64Array[]; masks: Float64Array[] }[];
  private cur = 0;
  /** act[l]: input of layer l (act[0] = the input batch); act[L]: the reconstruction. */
  private get act(): Float64Array[] {
    return this.sets[this.cur].act;
  }
  /** delta[l]: gradient of the loss w.r.t. layer l's pre-activation output. */
  private readonly delta: Float64Array[];
  private readonly kernel: StepKernel;
  private readonly evalForward: (b: number) => void;
  private readonly ix: Int32Array;
  private readonly xv: Float64Array;
  private readonly lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private accBeta1: number;
  private accBeta2: number;

  /** Shared control block of a two-thread step (see {@link FusedMlp.buffers}); undefined when not shared. */
  private readonly ctl?: Int32Array;
  /** Shared per-step Adam factors `[lr / (1 - b1^t), 1 / sqrt(1 - b2^t)]` for the helper. */
  private readonly adamFactors?: Float64Array;
  private readonly special?: Specialised;
  /** Layers whose weight gradients and Adam update the helper thread takes (see {@link helperLayers}). */
  private readonly helperSet: boolean[];

  /**
   * @param options - `specialise: false` uses the generic loops; `wasm: false` the generated
   *   JavaScript kernels instead of the WebAssembly ones (same results); `shared: true` allocates
   *   every buffer a step touches in shared memory, so that a helper thread can join the steps (see
   *   {@link buffers}); `buffers` builds the helper's side on a training's shared buffers
   */
  constructor(spec: FusedMlpSpec, options: { specialise?: boolean; wasm?: boolean; shared?: boolean; buffers?: FusedBuffers } = {}) {
    const sizes = spec.sizes.slice();
    if (sizes.length < 2 || !sizes.every((s) => Number.isInteger(s) && s >= 1)) throw new RangeError('FusedMlp: invalid layer sizes.');
    this.sizes = sizes;
    this.maxBatch = spec.maxBatch;
    this.dropoutLayers = Math.min(spec.dropoutLayers, sizes.length - 2);
    const L = sizes.length - 1;
    let off = 0;
    for (let l = 0; l < L; l++) {
      this.kernelOffset.push(off);
      off += sizes[l] * sizes[l + 1];
      this.biasOffset.push(off);
      off += sizes[l + 1];
    }
    const buf = options.buffers;
    const shared = options.shared === true && !buf;
    // the WebAssembly kernels (the default where available) work on buffers in their own memory
    const shapes = layerShapes(sizes, this.dropoutLayers, this.kernelOffset, this.biasOffset);
    const wasmKernels = options.specialise === false || options.wasm === false || (buf && !buf.memory) ? undefined : mlpKernels(shapes, this.dropoutLayers);
    const rows4 = (spec.maxBatch + 3) & ~3;
    const arena = wasmKernels && !buf ? new MlpMemory(sizes, this.dropoutLayers, rows4, off) : undefined;
    const f64 = arena
      ? (len: number, rows?: number) => arena.take(len, rows)
      : shared
        ? (len: number) => new Float64Array(new SharedArrayBuffer(8 * len))
        : (len: number) => new Float64Array(len);
    this.params = buf?.params ?? f64(off);
    this.grads = buf?.grads ?? f64(off);
    this.m = buf?.m ?? f64(off);
    this.v = buf?.v ?? f64(off);
    // batch buffers: `maxBatch` rows visible, a multiple of 4 allocated (the WebAssembly kernels run 4 rows at a time)
    const rowsOf = (u: number) => f64(spec.maxBatch * u, rows4 * u);
    const act = buf?.act ?? sizes.map((u) => rowsOf(u));
    const masks = buf?.masks ?? Array.from({ length: this.dropoutLayers }, (_, k) => rowsOf(sizes[k + 1]));
    this.sets = [
      { act, masks },
      { act: [buf?.input1 ?? rowsOf(sizes[0]), ...act.slice(1)], masks: buf?.masks1 ?? masks.map((_, k) => rowsOf(sizes[k + 1])) },
    ];
    this.delta = buf?.delta ?? sizes.map((u) => rowsOf(u));
    const memory = buf?.memory ?? arena?.memory;
    if (wasmKernels && memory) {
      // each hidden layer's kernel transposed (for the input gradients), and masks of ones (for evaluation)
      this.wt = buf?.wt ?? shapes.map((sh, l) => (l === 0 ? new Float64Array(0) : f64(sh.nin * sh.nout)));
      this.onesMasks = masks.map((_, k) => rowsOf(sizes[k + 1]).fill(1));
      this.memory = memory;
    }
    this.ctl = buf?.ctl ?? (shared ? new Int32Array(new SharedArrayBuffer(4 * CTL_SIZE)) : undefined);
    this.adamFactors = buf?.adamFactors ?? (shared ? f64(2) : undefined);
    this.helperSet = helperLayers(sizes);
    this.lr = spec.learningRate;
    this.beta1 = spec.beta1 ?? 0.9;
    this.beta2 = spec.beta2 ?? 0.999;
    this.epsilon = spec.epsilon ?? 1e-7;
    this.accBeta1 = this.beta1;
    this.accBeta2 = this.beta2;
    this.ix = new Int32Array(Math.max(spec.maxBatch, ...sizes));
    this.xv = new Float64Array(Math.max(spec.maxBatch, ...sizes));
    const wasmExports = wasmKernels && this.memory && this.wt ? instantiateMlp(wasmKernels, this.memory) : undefined;
    this.wasmAdam = wasmExports?.adam;
    const special =
      wasmExports && this.wt
        ? wasmSpecialised(wasmExports, shapes, this.dropoutLayers, this.wt, rows4)
        : options.specialise === false
          ? undefined
          : specialisedKernel(sizes, this.dropoutLayers, this.kernelOffset, this.biasOffset);
    this.specialised = special !== undefined;
    this.wasm = special !== undefined && this.memory !== undefined;
    this.special = special;
    this.kernel = special?.step ?? ((p, g, act, delta, masks, b) => genericStep(this, p, g, act, delta, masks, b));
    if (special) {
      // dropout off = masks of ones (z * 1 is z exactly)
      const ones = this.onesMasks ?? this.masks.map((m) => new Float64Array(m.length).fill(1));
      this.evalForward = (b) => special.forward(this.params, this.grads, this.act, this.delta, ones, b, this.ix, this.xv);
    } else {
      this.evalForward = (b) => forwardPass(this, this.params, this.act, this.masks, b, false);
    }
  }

  /** Layer l's kernel (`sizes[l]` x `sizes[l + 1]`) and bias, views into {@link params}. */
  layer(l: number): { kernel: Float64Array; bias: Float64Array } {
    const nin = this.sizes[l];
    const nout = this.sizes[l + 1];
    const k = this.kernelOffset[l];
    const b = this.biasOffset[l];
    return { kernel: this.params.subarray(k, k + nin * nout), bias: this.params.subarray(b, b + nout) };
  }

  /**
   * Forward + backward over the first `b` rows of {@link input} (dropout masks from {@link masks}
   * when `dropoutLayers` > 0), then one Adam update.
   * @param prepareNext - writes the next batch (its input rows and masks) into the buffers given;
   *   they become {@link input} and {@link masks} after this step (with a helper thread, this runs
   *   while the helper computes its rows)
   * @returns the batch's loss before the update (mean squared error over its rows and features)
   */
  trainStep(b: number, prepareNext?: (input: Float64Array, masks: Float64Array[]) => void): number {
    const ctl = this.ctl;
    const next = this.sets[this.cur ^ 1];
    let loss: number;
    // a ready helper shares the step when the policy says that pays (split and solo steps give the same bits)
    const ready = ctl !== undefined && this.special !== undefined && Atomics.load(ctl, CTL_HELPER) === HELPER_READY;
    const split = ready && this.helperPolicy.split();
    const t0 = ready ? performance.now() : 0;
    if (split) {
      loss = this.stepWithHelper(b, ctl!, this.special!, prepareNext && (() => prepareNext(next.act[0], next.masks)));
    } else {
      loss = this.kernel(this.params, this.grads, this.act, this.delta, this.masks, b, this.ix, this.xv);
      this.adam();
      prepareNext?.(next.act[0], next.masks);
    }
    if (ready) this.helperPolicy.record(split, performance.now() - t0);
    if (prepareNext) this.cur ^= 1;
    return loss;
  }

  /**
   * The buffers a training step touches, in shared memory (a net built with `shared: true` and the
   * specialised kernel; else undefined): post them to a helper thread ({@link serveAsHelper}).
   * Every {@link trainStep} then checks whether a helper is ready and, if so, splits the step with
   * it: the batch's rows for the forward and input-gradient passes (each row's values do not
   * depend on the split), the layers for the weight gradients and Adam (each weight summed over
   * the rows in the same order). The results are bit-identical to a step on one thread.
   */
  buffers(): FusedBuffers | undefined {
    if (!this.ctl || !this.adamFactors || !this.special) return undefined;
    const [a, b] = this.sets;
    return { params: this.params, grads: this.grads, m: this.m, v: this.v, act: a.act, masks: a.masks, input1: b.act[0], masks1: b.masks, delta: this.delta, ctl: this.ctl, adamFactors: this.adamFactors, memory: this.memory, wt: this.wt };
  }

  /** One step split with the ready helper thread (see {@link buffers}); `prepareNext` writes the next batch. */
  private stepWithHelper(b: number, ctl: Int32Array, k: Specialised, prepareNext?: () => void): number {
    const { params: p, grads: g, act, delta, masks, ix, xv } = this;
    ctl[CTL_SET] = this.cur;
    // this thread also writes the next batch meanwhile: the helper takes more of the rows
    let h = prepareNext ? Math.round(b * HELPER_ROW_SHARE) : b >> 1;
    if (this.wasm) h &= ~3; // the WebAssembly kernels run four rows at a time
    ctl[CTL_B] = b;
    ctl[CTL_H] = h;
    k.prepare?.(p);
    const [lrc, isc] = this.adamStepFactors();
    this.adamFactors![0] = lrc;
    this.adamFactors![1] = isc;
    // phase 1: the helper takes rows [0, h), this thread [h, b)
    const seq1 = Atomics.add(ctl, CTL_GO1, 1) + 1;
    Atomics.notify(ctl, CTL_GO1);
    k.rows(p, g, act, delta, masks, b, ix, xv, h, b);
    prepareNext?.();
    if (!awaitCounter(ctl, CTL_DONE1, seq1)) {
      // the helper is gone before finishing its rows: they are computed here (the same values),
      // and this step's weight pass runs here alone
      k.rows(p, g, act, delta, masks, b, ix, xv, 0, h);
      this.weightPass(k, act, masks, b, lrc, isc, false);
      this.weightPass(k, act, masks, b, lrc, isc, true);
      const loss = k.loss(p, g, act, delta, masks, b, ix, xv, 0, b);
      this.advanceAdam();
      return loss;
    }
    // phase 2: the weight gradients and Adam, split by layer
    const seq3 = Atomics.add(ctl, CTL_GO3, 1) + 1;
    Atomics.notify(ctl, CTL_GO3);
    this.weightPass(k, act, masks, b, lrc, isc, false);
    const loss = k.loss(p, g, act, delta, masks, b, ix, xv, 0, b);
    // a helper gone now may have applied part of its layers' Adam update: the step cannot be redone
    if (!awaitCounter(ctl, CTL_DONE3, seq3)) throw new Error('Autoencoder: the helper training thread stopped in the middle of a training step.');
    this.advanceAdam();
    this.splitSteps++;
    return loss;
  }

  /**
   * The helper's side of the steps: wait for each phase the stepping thread starts, do this
   * thread's share, signal it done; returns when {@link stopHelper} is called.
   */
  serveAsHelper(): void {
    const ctl = this.ctl;
    const k = this.special;
    if (!ctl || !k) throw new Error('FusedMlp.serveAsHelper needs shared buffers and the specialised kernel.');
    const { params: p, grads: g, delta, ix, xv } = this;
    let seen1 = Atomics.load(ctl, CTL_GO1);
    let seen3 = Atomics.load(ctl, CTL_GO3);
    Atomics.store(ctl, CTL_HELPER, HELPER_READY);
    for (;;) {
      if (!awaitChange(ctl, CTL_GO1, seen1)) return;
      seen1++;
      const b = ctl[CTL_B];
      const { act, masks } = this.sets[ctl[CTL_SET]];
      k.rows(p, g, act, delta, masks, b, ix, xv, 0, ctl[CTL_H]);
      Atomics.store(ctl, CTL_DONE1, seen1);
      Atomics.notify(ctl, CTL_DONE1);
      if (!awaitChange(ctl, CTL_GO3, seen3)) return;
      seen3++;
      this.weightPass(k, act, masks, b, this.adamFactors![0], this.adamFactors![1], true);
      Atomics.store(ctl, CTL_DONE3, seen3);
      Atomics.notify(ctl, CTL_DONE3);
    }
  }

  /**
   * The weight pass of the helper's layers (`helperSide`) or of the others: each layer's bias and
   * kernel gradients over every row, then Adam on its contiguous parameters.
   */
  private weightPass(k: Specialised, act: Float64Array[], masks: Float64Array[], b: number, lrc: number, isc: number, helperSide: boolean): void {
    for (let l = 0; l < this.helperSet.length; l++) {
      if (this.helperSet[l] !== helperSide) continue;
      k.wgrad[l](this.params, this.grads, act, this.delta, masks, b, this.ix, this.xv, 0, b);
      this.adamRange(this.kernelOffset[l], this.biasOffset[l] + this.sizes[l + 1], lrc, isc);
    }
  }

  /** Tell a helper serving these buffers to return (after its current step). */
  stopHelper(): void {
    const ctl = this.ctl;
    if (!ctl) return;
    Atomics.store(ctl, CTL_STOP, 1);
    Atomics.notify(ctl, CTL_GO1);
    Atomics.notify(ctl, CTL_GO3);
  }

  /** The gradient of the loss w.r.t. every parameter for the first `b` rows of {@link input}, without updating (for tests). */
  gradient(b: number): { loss: number; grads: Float64Array } {
    const loss = this.kernel(this.params, this.grads, this.act, this.delta, this.masks, b, this.ix, this.xv);
    return { loss, grads: this.grads.slice() };
  }

  /**
   * Sum over rows of each row's reconstruction MSE, dropout off, for `n` rows of `x` (row-major,
   * `sizes[0]` columns), in chunks of `maxBatch` rows.
   */
  sumRowMse(x: Float64Array, n: number): number {
    const d = this.sizes[0];
    const L = this.sizes.length - 1;
    let total = 0;
    for (let start = 0; start < n; start += this.maxBatch) {
      const b = Math.min(this.maxBatch, n - start);
      this.input.set(x.subarray(start * d, (start + b) * d));
      this.evalForward(b);
      const out = this.act[L];
      const inp = this.input;
      for (let i = 0; i < b; i++) {
        let s = 0;
        for (let j = i * d, e = j + d; j < e; j++) {
          const r = out[j] - inp[j];
          s += r * r;
        }
        total += s / d;
      }
    }
    return total;
  }

  private adam(): void {
    const [lrc, isc] = this.adamStepFactors();
    this.adamRange(0, this.params.length, lrc, isc);
    this.advanceAdam();
  }

  /** This step's factors: lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) with them hoisted. */
  private adamStepFactors(): [number, number] {
    return [this.lr / (1 - this.accBeta1), 1 / Math.sqrt(1 - this.accBeta2)];
  }

  /** Adam's update of parameters [lo, hi) (element by element, so any split gives the same values). */
  private adamRange(lo: number, hi: number, lrc: number, isc: number): void {
    const { params: p, grads: g, m, v, beta1, beta2 } = this;
    const c1 = 1 - beta1;
    const c2 = 1 - beta2;
    const eps = this.epsilon;
    if (this.wasmAdam) {
      this.wasmAdam(p.byteOffset, g.byteOffset, m.byteOffset, v.byteOffset, lo, hi, lrc, isc, beta1, beta2, c1, c2, eps);
      return;
    }
    for (let k = lo; k < hi; k++) {
      const gk = g[k];
      const mk = m[k] * beta1 + gk * c1;
      const vk = v[k] * beta2 + gk * gk * c2;
      m[k] = mk;
      v[k] = vk;
      p[k] -= (lrc * mk) / (Math.sqrt(vk) * isc + eps);
    }
  }

  private advanceAdam(): void {
    this.accBeta1 *= this.beta1;
    this.accBeta2 *= this.beta2;
    this.steps++;
  }
}

/**
 * Training rows x epochs from which a helper thread is worth starting (below, its start-up, tens of
 * milliseconds, costs about what it saves: 1,000 rows x 30 epochs train in 0.45 s alone).
 */
export const HELPER_MIN_ROW_EPOCHS = 100_000;

/** The buffers of a {@link FusedMlp} shared with a helper thread (see {@link FusedMlp.buffers}). */
export interface FusedBuffers {
  params: Float64Array;
  grads: Float64Array;
  m: Float64Array;
  v: Float64Array;
  act: Float64Array[];
  masks: Float64Array[];
  /** The second batch buffer's input and masks (see {@link FusedMlp.trainStep}'s `prepareNext`). */
  input1: Float64Array;
  masks1: Float64Array[];
  delta: Float64Array[];
  ctl: Int32Array;
  adamFactors: Float64Array;
  /** The WebAssembly memory the buffers live in, and the transposed kernels, when the WebAssembly kernels run. */
  memory?: WasmMemory;
  wt?: Float64Array[];
}

// control block of a two-thread step: helper state, batch rows and split, phase counters, stop
const CTL_HELPER = 0;
const CTL_B = 1;
const CTL_H = 2;
const CTL_GO1 = 3;
const CTL_DONE1 = 4;
const CTL_GO3 = 5;
const CTL_DONE3 = 6;
const CTL_STOP = 7;
const CTL_SET = 8;
const CTL_SIZE = 9;
const HELPER_READY = 1;
const HELPER_GONE = 2;
/**
 * The helper's share of a batch's rows when the stepping thread also writes the next batch
 * meanwhile (about 30 microseconds, against ~100 for half a batch's rows).
 */
const HELPER_ROW_SHARE = 0.56;
/**
 * Busy-wait iterations (a few microseconds) before a thread sleeps on the counter: a phase takes
 * ~0.1 ms and a sleep's wake-up costs tens of microseconds, so a short spin catches a partner that
 * is running; a longer one would burn the core a descheduled partner needs on a busy machine.
 */
const SPINS = 2_000;

/** `NAL_AE_HELPER`: `auto` (default; {@link HelperPolicy}), `always` or `never`. */
function helperMode(): HelperMode {
  const v = typeof process !== 'undefined' ? process.env.NAL_AE_HELPER : undefined;
  if (v === undefined || v === '' || v === 'auto') return 'auto';
  if (v === 'always' || v === 'never') return v;
  throw new RangeError(`NAL_AE_HELPER must be auto, always or never, got '${v}'.`);
}

/** Whether a ready helper thread shares the training steps: measured (`auto`), or forced. */
export type HelperMode = 'auto' | 'always' | 'never';

/**
 * Decides step by step whether a ready helper thread shares the training step, from the measured
 * step times (the weights are the same to the bit either way, so only the time is at stake). On an
 * idle core a shared step takes about 0.6x a step alone; on a machine whose other cores are busy,
 * the two threads wait for each other at every phase and a shared step can take several times
 * longer. `auto` measures: a window of shared steps, then a window alone, compared by their
 * medians; the faster mode runs for a while (doubling, up to 64 windows, while the same mode keeps
 * winning), then the two are measured again, so a machine that becomes busy or idle is followed.
 * Shared steps are kept only when their median is at most 0.95x the median alone.
 */
export class HelperPolicy {
  /** Steps per measuring window. */
  static readonly WINDOW = 32;
  /** Most windows between two measurements. */
  static readonly MAX_HOLD = 64;
  private phase: 'measure-split' | 'measure-solo' | 'hold' = 'measure-split';
  private readonly splitTimes: number[] = [];
  private readonly soloTimes: number[] = [];
  private holdSplit = false;
  private holdLeft = 0;
  private hold = 1;
  /** Steps run shared and alone (for tests and benchmarks). */
  readonly counts = { split: 0, solo: 0 };

  constructor(readonly mode: HelperMode = 'auto') {}

  /** Whether the next step (with a ready helper) is shared. */
  split(): boolean {
    if (this.mode !== 'auto') return this.mode === 'always';
    if (this.phase === 'measure-split') return true;
    if (this.phase === 'measure-solo') return false;
    return this.holdSplit;
  }

  /** The duration in milliseconds of a step taken shared (`split`) or alone. */
  record(split: boolean, ms: number): void {
    this.counts[split ? 'split' : 'solo']++;
    if (this.mode !== 'auto') return;
    const W = HelperPolicy.WINDOW;
    if (this.phase === 'measure-split') {
      this.splitTimes.push(ms);
      if (this.splitTimes.length === W) this.phase = 'measure-solo';
    } else if (this.phase === 'measure-solo') {
      this.soloTimes.push(ms);
      if (this.soloTimes.length === W) {
        const splitWins = median(this.splitTimes) <= 0.95 * median(this.soloTimes);
        this.hold = splitWins === this.holdSplit ? Math.min(HelperPolicy.MAX_HOLD, 2 * this.hold) : 1;
        this.holdSplit = splitWins;
        this.holdLeft = this.hold * W;
        this.splitTimes.length = 0;
        this.soloTimes.length = 0;
        this.phase = 'hold';
      }
    } else if (--this.holdLeft <= 0) this.phase = 'measure-split';
  }
}

function median(xs: number[]): number {
  const v = xs.slice().sort((a, b) => a - b);
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
}

/**
 * Layers whose weight gradients (and Adam update) the helper takes: about half the weights,
 * largest layers first to the less loaded thread (the stepping thread also sums the loss).
 */
export function helperLayers(sizes: readonly number[]): boolean[] {
  const L = sizes.length - 1;
  // per step: the kernel gradient runs over the nonzero inputs (the data are dense, a relu
  // layer's output about half zeros) for each of 32 rows; Adam costs about 3 multiply-adds a weight
  const cost = (l: number) => 32 * (l === 0 ? sizes[0] : sizes[l] / 2) * sizes[l + 1] + 3 * (sizes[l] + 1) * sizes[l + 1];
  const byCost = Array.from({ length: L }, (_, l) => l).sort((a, b) => cost(b) - cost(a) || a - b);
  const mine = new Array<boolean>(L).fill(false);
  let helper = 0;
  let self = 2 * 32 * sizes[0]; // the loss sum
  for (const l of byCost) {
    if (helper < self) {
      mine[l] = true;
      helper += cost(l);
    } else self += cost(l);
  }
  return mine;
}

/** Wait until `ctl[i]` reaches `value` (the helper's phase done): true, or false once the helper is gone. */
function awaitCounter(ctl: Int32Array, i: number, value: number): boolean {
  for (let spin = 0; ; spin++) {
    const now = Atomics.load(ctl, i);
    if (now === value) return true;
    if (Atomics.load(ctl, CTL_HELPER) === HELPER_GONE) return Atomics.load(ctl, i) === value;
    if (spin > SPINS) Atomics.wait(ctl, i, now, 5);
  }
}

/** Wait until `ctl[i]` moves past `seen` (the next phase); false when told to stop. */
function awaitChange(ctl: Int32Array, i: number, seen: number): boolean {
  for (let spin = 0; ; spin++) {
    const now = Atomics.load(ctl, i);
    if (now !== seen) return true;
    if (Atomics.load(ctl, CTL_STOP) === 1) return false;
    if (spin > SPINS) Atomics.wait(ctl, i, now, 50);
  }
}

/** Mark the helper as gone (its thread died), so that a step waiting on it goes on alone or fails instead of hanging. */
export function markHelperGone(ctl: Int32Array): void {
  Atomics.store(ctl, CTL_HELPER, HELPER_GONE);
  Atomics.notify(ctl, CTL_DONE1);
  Atomics.notify(ctl, CTL_DONE3);
}

// ---------------------------------------------------------------------------------------------
// Generic loops (the reference and the fallback)
// ---------------------------------------------------------------------------------------------

function forwardPass(net: FusedMlp, p: Float64Array, act: Float64Array[], masks: Float64Array[], b: number, dropout: boolean): void {
  const sizes = net.sizes;
  const L = sizes.length - 1;
  for (let l = 0; l < L; l++) {
    const nin = sizes[l];
    const nout = sizes[l + 1];
    const ko = net.kernelOffset[l];
    const bo = net.biasOffset[l];
    const x = act[l];
    const y = act[l + 1];
    const relu = l < L - 1;
    const mask = dropout && l < net.dropoutLayers ? masks[l] : undefined;
    for (let i = 0; i < b; i++) {
      const yo = i * nout;
      const xo = i * nin;
      for (let j = 0; j < nout; j++) y[yo + j] = p[bo + j];
      for (let k = 0; k < nin; k++) {
        const a = x[xo + k];
        if (a === 0) continue;
        const wo = ko + k * nout;
        for (let j = 0; j < nout; j++) y[yo + j] += a * p[wo + j];
      }
      if (relu) {
        if (mask) {
          for (let j = 0; j < nout; j++) {
            const z = y[yo + j];
            y[yo + j] = z > 0 ? z * mask[yo + j] : 0;
          }
        } else {
          for (let j = 0; j < nout; j++) if (!(y[yo + j] > 0)) y[yo + j] = 0;
        }
      }
    }
  }
}

function genericStep(net: FusedMlp, p: Float64Array, g: Float64Array, act: Float64Array[], delta: Float64Array[], masks: Float64Array[], b: number): number {
  const sizes = net.sizes;
  const L = sizes.length - 1;
  const d = sizes[0];
  forwardPass(net, p, act, masks, b, true);
  // loss and its gradient w.r.t. the (linear) output
  const out = act[L];
  const inp = act[0];
  const dOut = delta[L];
  const n = b * d;
  const scale = 2 / n;
  let loss = 0;
  for (let k = 0; k < n; k++) {
    const r = out[k] - inp[k];
    loss += r * r;
    dOut[k] = scale * r;
  }
  g.fill(0);
  for (let l = L - 1; l >= 0; l--) {
    const nin = sizes[l];
    const nout = sizes[l + 1];
    const ko = net.kernelOffset[l];
    const bo = net.biasOffset[l];
    const x = act[l];
    const dy = delta[l + 1];
    const dx = delta[l];
    const keep = l - 1 >= 0 && l - 1 < net.dropoutLayers ? masks[l - 1] : undefined;
    for (let i = 0; i < b; i++) {
      const yo = i * nout;
      const xo = i * nin;
      for (let j = 0; j < nout; j++) g[bo + j] += dy[yo + j];
      for (let k = 0; k < nin; k++) {
        const a = x[xo + k];
        if (l > 0) {
          // gradient w.r.t. the previous layer's pre-activation: relu step, times the dropout mask
          let s = 0;
          if (a > 0) {
            const wo = ko + k * nout;
            for (let j = 0; j < nout; j++) s += dy[yo + j] * p[wo + j];
            if (keep) s *= keep[xo + k];
          }
          dx[xo + k] = s;
        }
        if (a === 0) continue;
        const wo = ko + k * nout;
        for (let j = 0; j < nout; j++) g[wo + j] += a * dy[yo + j];
      }
    }
  }
  return loss / n;
}

// ---------------------------------------------------------------------------------------------
// The kernel specialised for one set of layer sizes
// ---------------------------------------------------------------------------------------------

/** The compiled kernel: a training step, and the forward pass alone (dropout masks as given). */
interface Specialised {
  step: StepKernel;
  forward: (...args: Parameters<StepKernel>) => void;
  /** Rows [r0, r1): forward, output gradient, every layer's input gradient. */
  rows: (...args: [...Parameters<StepKernel>, number, number]) => void;
  /** Per layer: its bias and kernel gradients over every row. */
  wgrad: ((...args: [...Parameters<StepKernel>, number, number]) => void)[];
  /** The batch loss (every row, in order). */
  loss: (...args: [...Parameters<StepKernel>, number, number]) => number;
  /** Called by the stepping thread before a step's row pass (the WebAssembly kernels transpose the weights). */
  prepare?: (p: Float64Array) => void;
}

/** The layers' shapes for the WebAssembly kernels. */
function layerShapes(sizes: readonly number[], dropoutLayers: number, ko: readonly number[], bo: readonly number[]): LayerShape[] {
  const L = sizes.length - 1;
  return Array.from({ length: L }, (_, l) => ({ nin: sizes[l], nout: sizes[l + 1], ko: ko[l], bo: bo[l], mode: l === L - 1 ? 0 : l < dropoutLayers ? 2 : 1 }));
}

/** A network's buffers in one shared WebAssembly memory, allocated once (16-byte aligned views). */
class MlpMemory {
  readonly memory: WasmMemory;
  private top = 0;

  constructor(sizes: readonly number[], dropoutLayers: number, rows4: number, nParams: number) {
    // params, grads, m, v; two sets of inputs and masks, the hidden activations and deltas; ones; transposed kernels
    const units = sizes.reduce((a, u) => a + u, 0);
    const dropUnits = sizes.slice(1, 1 + dropoutLayers).reduce((a, u) => a + u, 0);
    const layers = sizes.length + 2 * dropoutLayers + 8;
    const doubles = 4 * nParams + rows4 * (2 * units + sizes[0] + 3 * dropUnits) + nParams + 2 * layers;
    const pages = Math.ceil((8 * doubles + 16 * (layers + 8)) / 65536) + 1;
    const api = (globalThis as { WebAssembly?: { Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory } }).WebAssembly!;
    this.memory = new api.Memory({ initial: pages, maximum: pages, shared: true });
  }

  /** A zeroed view of `len` float64 values, with room for `room` (>= len) allocated. */
  take(len: number, room = len): Float64Array {
    const at = this.top;
    this.top = at + Math.ceil((8 * Math.max(len, room, 1)) / 16) * 16;
    if (this.top > this.memory.buffer.byteLength) throw new Error('FusedMlp: the WebAssembly memory is too small (a bug).');
    return new Float64Array(this.memory.buffer as SharedArrayBuffer, at, len);
  }
}

/**
 * The WebAssembly kernels behind the {@link Specialised} interface (see `autoencoder-wasm.ts`): the
 * same functions, arithmetic and results as the generated JavaScript; pointers are the views'
 * byte offsets in the network's memory.
 */
function wasmSpecialised(x: Record<string, (...args: number[]) => void>, shapes: LayerShape[], dropoutLayers: number, wt: Float64Array[], rows4: number): Specialised {
  const L = shapes.length;
  const d = shapes[0].nin;
  const ptr = (a: Float64Array): number => a.byteOffset;
  const up = (r: number): number => Math.min(rows4, (r + 3) & ~3);
  const transpose = (p: Float64Array): void => {
    for (let l = 1; l < L; l++) x[`transpose${l}`](ptr(p), ptr(wt[l]));
  };
  const forward = (p: Float64Array, act: Float64Array[], masks: Float64Array[], r0: number, r1: number): void => {
    for (let l = 0; l < L; l++) x[`forward${l}`](ptr(act[l]), ptr(act[l + 1]), ptr(p), l < dropoutLayers ? ptr(masks[l]) : 0, r0, r1);
  };
  const rows: Specialised['rows'] = (p, g, act, delta, masks, b, ix, xv, r0, r1) => {
    const e = up(r1);
    if (e <= r0) return;
    forward(p, act, masks, r0, e);
    const at = r0 * d * 8;
    x.outGrad(ptr(act[L]) + at, ptr(act[0]) + at, ptr(delta[L]) + at, (e - r0) * d, 2 / (b * d));
    for (let l = L - 1; l >= 1; l--) x[`dgrad${l}`](ptr(delta[l + 1]), ptr(act[l]), ptr(delta[l]), l - 1 < dropoutLayers ? ptr(masks[l - 1]) : 0, ptr(wt[l]), r0, e);
  };
  const wgrad = shapes.map((_, l) => ((p: Float64Array, g: Float64Array, act: Float64Array[], delta: Float64Array[], masks: Float64Array[], b: number) => x[`wgrad${l}`](ptr(act[l]), ptr(delta[l + 1]), ptr(g), b)) as Specialised['wgrad'][number]);
  const loss: Specialised['loss'] = (p, g, act, delta, masks, b) => {
    const out = act[L];
    const inp = act[0];
    const n = b * d;
    let s = 0;
    for (let k = 0; k < n; k++) {
      const r = out[k] - inp[k];
      s += r * r;
    }
    return s / n;
  };
  return {
    step: (p, g, act, delta, masks, b, ix, xv) => {
      transpose(p);
      rows(p, g, act, delta, masks, b, ix, xv, 0, b);
      for (let l = L - 1; l >= 0; l--) wgrad[l](p, g, act, delta, masks, b, ix, xv, 0, b);
      return loss(p, g, act, delta, masks, b, ix, xv, 0, b);
    },
    forward: (p, g, act, delta, masks, b) => forward(p, act, masks, 0, up(b)),
    rows,
    wgrad,
    loss,
    prepare: transpose,
  };
}

/** Compiled kernels for these sizes, or undefined where code generation is not allowed. */
function specialisedKernel(sizes: readonly number[], dropoutLayers: number, ko: readonly number[], bo: readonly number[]): Specialised | undefined {
  const key = `ae-fused-step-v6:${sizes.join(',')}:${dropoutLayers}`;
  // compileKernel evaluates the source as an expression: here an object of functions, not a block kernel
  const k = compileKernel(key, () => stepSource(sizes, dropoutLayers, ko, bo));
  return k as unknown as Specialised | undefined;
}

/** Output columns handled together (in registers) by the specialised kernel. */
const BLOCK = 8;

/** `[start, width]` blocks covering 0..n-1, `BLOCK` wide but for the last. */
function blocks(n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 0; j < n; j += BLOCK) out.push([j, Math.min(BLOCK, n - j)]);
  return out;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, q) => q);

/**
 * Source of `{ step, forward }`, `step(p, g, act, delta, masks, b, ix, xv) => loss` being {@link genericStep}'s arithmetic in
 * the same order (so the same results), with every size and offset a literal and register
 * blocking: the forward pass and the weight gradient keep 8 output columns in locals while they
 * run over the nonzero inputs (forward) or the batch rows (gradient), and the input gradient
 * computes 4 active units at once, so each weight or delta loaded feeds several multiply-adds
 * instead of one load and one store per multiply-add. Built only from integers.
 */
function stepSource(sizes: readonly number[], dropoutLayers: number, ko: readonly number[], bo: readonly number[]): string {
  const L = sizes.length - 1;
  const d = sizes[0];
  const lines: string[] = [];
  const e = (s: string) => lines.push(s);
  // one small function per layer and pass (V8 does not optimise very large functions), then the
  // drivers; the row passes take the row range [r0, r1), the weight gradients every row [0, b)
  const args = '(p, g, act, delta, masks, b, ix, xv, r0, r1)';
  const head = (name: string, l: number): void => {
    e(`function ${name}${args} {`);
    e(`const a${l} = act[${l}]; const a${l + 1} = act[${l + 1}]; const d${l} = delta[${l}]; const d${l + 1} = delta[${l + 1}];`);
    if (l < dropoutLayers) e(`const m${l} = masks[${l}];`);
    if (l - 1 >= 0 && l - 1 < dropoutLayers) e(`const m${l - 1} = masks[${l - 1}];`);
  };
  e('(() => {');
  // forward: y[i, j..j+w) = bias + sum over the nonzero x[i, k] of x[i, k] W[k, j..j+w)
  for (let l = 0; l < L; l++) {
    const nin = sizes[l];
    const nout = sizes[l + 1];
    const x = `a${l}`;
    const y = `a${l + 1}`;
    head(`forward${l}`, l);
    e(`for (let i = r0; i < r1; i++) {`);
    e(`  const xo = i * ${nin}; const yo = i * ${nout}; let na = 0;`);
    e(`  for (let k = 0; k < ${nin}; k++) { const a = ${x}[xo + k]; if (a !== 0) { ix[na] = ${ko[l]} + k * ${nout}; xv[na] = a; na++; } }`);
    for (const [j0, w] of blocks(nout)) {
      const q = range(w);
      e(`  {`);
      e(`    let ${q.map((t) => `s${t} = p[${bo[l] + j0 + t}]`).join(', ')};`);
      e(`    for (let t = 0; t < na; t++) { const a = xv[t]; const wo = ix[t] + ${j0}; ${q.map((t) => `s${t} += a * p[wo + ${t}];`).join(' ')} }`);
      for (const t of q) {
        const at = `yo + ${j0 + t}`;
        if (l === L - 1) e(`    ${y}[${at}] = s${t};`);
        else if (l < dropoutLayers) e(`    ${y}[${at}] = s${t} > 0 ? s${t} * m${l}[${at}] : 0;`);
        else e(`    ${y}[${at}] = s${t} > 0 ? s${t} : 0;`);
      }
      e(`  }`);
    }
    e(`}`);
    e(`}`);
  }
  // the output's gradient (rows r0..r1), and the loss (every row, in order)
  e(`function outGrad${args} {`);
  e(`const a0 = act[0]; const a${L} = act[${L}]; const d${L} = delta[${L}];`);
  e(`const sc = 2 / (b * ${d});`);
  e(`for (let k = r0 * ${d}, e = r1 * ${d}; k < e; k++) { const r = a${L}[k] - a0[k]; d${L}[k] = sc * r; }`);
  e(`}`);
  e(`function lossOf${args} {`);
  e(`const a0 = act[0]; const a${L} = act[${L}];`);
  e(`const n = b * ${d}; let loss = 0;`);
  e(`for (let k = 0; k < n; k++) { const r = a${L}[k] - a0[k]; loss += r * r; }`);
  e(`return loss / n;`);
  e(`}`);
  for (let l = L - 1; l >= 0; l--) {
    const nin = sizes[l];
    const nout = sizes[l + 1];
    const x = `a${l}`;
    const dy = `d${l + 1}`;
    const dx = `d${l}`;
    // weight gradients of layer l over every row
    head(`wgrad${l}`, l);
    // bias gradient: column sums of dy
    for (const [j0, w] of blocks(nout)) {
      const q = range(w);
      e(`{`);
      e(`  let ${q.map((t) => `s${t} = 0`).join(', ')};`);
      e(`  for (let i = 0; i < b; i++) { const o = i * ${nout} + ${j0}; ${q.map((t) => `s${t} += ${dy}[o + ${t}];`).join(' ')} }`);
      e(`  ${q.map((t) => `g[${bo[l] + j0 + t}] = s${t};`).join(' ')}`);
      e(`}`);
    }
    // kernel gradient: g[k, j..j+w) = sum over rows of x[i, k] dy[i, j..j+w)
    // (over the rows where x[i, k] is nonzero, listed once per k)
    e(`for (let k = 0; k < ${nin}; k++) {`);
    e(`  const go = ${ko[l]} + k * ${nout}; let na = 0;`);
    e(`  for (let i = 0; i < b; i++) { const a = ${x}[i * ${nin} + k]; if (a !== 0) { ix[na] = i * ${nout}; xv[na] = a; na++; } }`);
    for (const [j0, w] of blocks(nout)) {
      const q = range(w);
      e(`  {`);
      e(`    let ${q.map((t) => `s${t} = 0`).join(', ')};`);
      e(`    for (let t = 0; t < na; t++) { const a = xv[t]; const o = ix[t] + ${j0}; ${q.map((t) => `s${t} += a * ${dy}[o + ${t}];`).join(' ')} }`);
      e(`    ${q.map((t) => `g[go + ${j0 + t}] = s${t};`).join(' ')}`);
      e(`  }`);
    }
    e(`}`);
    e(`}`);
    if (l === 0) continue;
    // input gradient of layer l (rows r0..r1) for the active units (x > 0), 4 at a time; relu step and dropout mask
    head(`dgrad${l}`, l);
    const keep = l - 1 < dropoutLayers;
    const scaled = (k: string, s: string) => (keep ? `${s} * m${l - 1}[xo + ${k}]` : s);
    e(`for (let i = r0; i < r1; i++) {`);
    e(`  const xo = i * ${nin}; const yo = i * ${nout}; let na = 0;`);
    e(`  for (let k = 0; k < ${nin}; k++) { if (${x}[xo + k] > 0) ix[na++] = k; else ${dx}[xo + k] = 0; }`);
    e(`  let t = 0;`);
    e(`  for (; t + 3 < na; t += 4) {`);
    e(`    const k0 = ix[t], k1 = ix[t + 1], k2 = ix[t + 2], k3 = ix[t + 3];`);
    e(`    const w0 = ${ko[l]} + k0 * ${nout}, w1 = ${ko[l]} + k1 * ${nout}, w2 = ${ko[l]} + k2 * ${nout}, w3 = ${ko[l]} + k3 * ${nout};`);
    e(`    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;`);
    e(`    for (let j = 0; j < ${nout}; j++) { const r = ${dy}[yo + j]; s0 += r * p[w0 + j]; s1 += r * p[w1 + j]; s2 += r * p[w2 + j]; s3 += r * p[w3 + j]; }`);
    e(`    ${dx}[xo + k0] = ${scaled('k0', 's0')}; ${dx}[xo + k1] = ${scaled('k1', 's1')}; ${dx}[xo + k2] = ${scaled('k2', 's2')}; ${dx}[xo + k3] = ${scaled('k3', 's3')};`);
    e(`  }`);
    e(`  for (; t < na; t++) {`);
    e(`    const k0 = ix[t]; const w0 = ${ko[l]} + k0 * ${nout}; let s0 = 0;`);
    e(`    for (let j = 0; j < ${nout}; j++) s0 += ${dy}[yo + j] * p[w0 + j];`);
    e(`    ${dx}[xo + k0] = ${scaled('k0', 's0')};`);
    e(`  }`);
    e(`}`);
    e(`}`);
  }
  // rows [r0, r1): forward, the output's gradient and every layer's input gradient (row by row
  // independent, so any split of the rows gives the same values)
  e(`function rows${args} {`);
  for (let l = 0; l < L; l++) e(`forward${l}${args};`);
  e(`outGrad${args};`);
  for (let l = L - 1; l >= 1; l--) e(`dgrad${l}${args};`);
  e(`}`);
  // the weight gradients of one layer (each weight summed over the rows in order)
  e(`const wgrad = [${range(L).map((l) => `wgrad${l}`).join(', ')}];`);
  e(`function forward(p, g, act, delta, masks, b, ix, xv) {`);
  for (let l = 0; l < L; l++) e(`forward${l}(p, g, act, delta, masks, b, ix, xv, 0, b);`);
  e(`}`);
  e(`function step(p, g, act, delta, masks, b, ix, xv) {`);
  e(`rows(p, g, act, delta, masks, b, ix, xv, 0, b);`);
  for (let l = L - 1; l >= 0; l--) e(`wgrad${l}(p, g, act, delta, masks, b, ix, xv, 0, b);`);
  e(`return lossOf(p, g, act, delta, masks, b, ix, xv, 0, b);`);
  e('}');
  e('return { step, forward, rows, wgrad, loss: lossOf };');
  e('})()');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The training loop, on plain data (runs on the calling thread or in a worker thread)
// ---------------------------------------------------------------------------------------------

/**
 * Everything the fused training loop needs, as plain data (typed arrays, numbers and generator
 * states), so that it survives structured cloning to a worker thread unchanged.
 */
export interface FusedTrainInput {
  /** Units per layer, input first: `[d, ...hiddenLayers, d]`. */
  sizes: number[];
  /** Initial parameters in {@link FusedMlp.params}' layout (the TF.js initialisers' float32 values). */
  params: Float64Array;
  /** Training rows as float32, n x d row-major (validation rows included). */
  xf: Float32Array;
  /** Training row indices, shuffled in place every epoch. */
  order: Int32Array;
  /** Validation rows, gathered (nVal x d). */
  valX: Float32Array;
  nVal: number;
  /** States of the per-epoch shuffle and dropout-mask generators. */
  shuffleState: RandomState;
  dropoutState: RandomState;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Dropout rate, and units of the hidden layers followed by dropout (empty when the rate is 0). */
  dropout: number;
  dropoutUnits: number[];
  /** Early-stopping patience; 0 turns it off. */
  patience: number;
  /**
   * Put the network's buffers in shared memory and report them (the `shared` callback of
   * {@link trainFusedLoop}), so that a helper thread can join the steps (a worker run).
   */
  share?: boolean;
}

/** The {@link FusedMlpSpec} of a training input (the helper thread builds the same network). */
export function fusedSpec(input: Pick<FusedTrainInput, 'sizes' | 'batchSize' | 'dropoutUnits' | 'learningRate'>): FusedMlpSpec {
  return {
    sizes: input.sizes,
    maxBatch: input.batchSize,
    dropoutLayers: input.dropoutUnits.length,
    learningRate: input.learningRate,
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
  };
}

/** What the loop reports after each epoch (the autoencoder's `onEpochEnd` info). */
export interface FusedEpochInfo {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss?: number;
  seconds: number;
}

/** The trained parameters (the best epoch's with early stopping) and the per-epoch losses. */
export interface FusedTrainResult {
  params: Float64Array;
  history: { loss: number[]; valLoss: number[] };
  /** Steps shared with a helper thread (0 on one thread). */
  splitSteps: number;
}

/** Early stopping on the monitored loss; `best` when the weights should be kept as the best. */
export class EarlyStopping {
  private best = Infinity;
  private sinceBest = 0;

  constructor(private readonly patience: number) {}

  /** 'best' (keep these weights), 'stop' or 'go on'. */
  update(monitored: number): 'best' | 'stop' | 'go on' {
    if (this.patience <= 0) return 'go on';
    if (monitored < this.best) {
      this.best = monitored;
      this.sinceBest = 0;
      return 'best';
    }
    return ++this.sinceBest >= this.patience ? 'stop' : 'go on';
  }
}

/**
 * The fused engine's training loop: per epoch a seeded shuffle of `order`, batches with dropout
 * masks drawn in bulk ({@link Random.fillRandom}, the TF.js loop's draws in its order), one
 * {@link FusedMlp.trainStep} per batch, the validation loss with dropout off, `onEpoch`, then
 * early stopping (restoring the best weights at the end). It depends only on `input`, so it gives
 * the same bits on the calling thread and in a worker.
 * @param between - awaited between epochs (the calling thread lets I/O and timers run)
 */
export async function trainFusedLoop(
  input: FusedTrainInput,
  onEpoch: (info: FusedEpochInfo) => void,
  between?: () => Promise<void>,
  shared?: (buffers: FusedBuffers) => void,
): Promise<FusedTrainResult> {
  const net = new FusedMlp(fusedSpec(input), { shared: input.share === true });
  if (input.params.length !== net.params.length) throw new Error('Autoencoder: the fused engine and the TF.js model disagree on the weights.');
  net.params.set(input.params);
  const buffers = net.buffers();
  if (buffers) shared?.(buffers);
  try {
    return await fusedEpochs(input, net, onEpoch, between);
  } finally {
    net.stopHelper();
  }
}

async function fusedEpochs(
  input: FusedTrainInput,
  net: FusedMlp,
  onEpoch: (info: FusedEpochInfo) => void,
  between: (() => Promise<void>) | undefined,
): Promise<FusedTrainResult> {
  const { xf, order, valX, nVal, epochs, batchSize, dropout, dropoutUnits } = input;
  const d = input.sizes[0];
  const shuffleRng = Random.fromState(input.shuffleState);
  const dropoutRng = Random.fromState(input.dropoutState);
  const history = { loss: [] as number[], valLoss: [] as number[] };
  const stopper = new EarlyStopping(input.patience);
  const keepScale = Math.fround(1 / (1 - dropout)); // the TF.js loop's masks are float32
  const val64 = Float64Array.from(valX);
  let bestWeights: Float64Array | undefined;
  const n = order.length;
  /** The batch at `start` of this epoch's order into `batch` and `masks`. */
  const fill = (start: number, batch: Float64Array, masks: Float64Array[]): void => {
    const b = Math.min(batchSize, n - start);
    for (let i = 0; i < b; i++) {
      const src = order[start + i] * d;
      const dst = i * d;
      // the float32 rows (float64 copies hold the same values; half the bytes to fetch)
      for (let j = 0; j < d; j++) batch[dst + j] = xf[src + j];
    }
    for (let k = 0; k < dropoutUnits.length; k++) {
      // the same draws as the TF.js loop's dropoutMask(), in bulk
      const m = dropoutRng.fillRandom(masks[k], b * dropoutUnits[k]);
      for (let q = 0; q < b * dropoutUnits[k]; q++) m[q] = m[q] < dropout ? 0 : keepScale;
    }
  };
  let nextStart = 0;
  const prepareNext = (batch: Float64Array, masks: Float64Array[]): void => fill(nextStart, batch, masks);

  for (let epoch = 1; epoch <= epochs; epoch++) {
    const t0 = performance.now();
    shuffleRng.shuffle(order);
    let lossSum = 0;
    fill(0, net.input, net.masks);
    for (let start = 0; start < n; start += batchSize) {
      const b = Math.min(batchSize, n - start);
      // the next batch is written during this step (its masks drawn after this one's, as before)
      nextStart = start + batchSize;
      lossSum += net.trainStep(b, nextStart < n ? prepareNext : undefined) * b;
    }
    const loss = lossSum / order.length;
    history.loss.push(loss);
    let valLoss: number | undefined;
    if (nVal > 0) {
      valLoss = net.sumRowMse(val64, nVal) / nVal;
      history.valLoss.push(valLoss);
    }
    onEpoch({ epoch, epochs, loss, valLoss, seconds: (performance.now() - t0) / 1000 });

    const verdict = stopper.update(valLoss ?? loss);
    if (verdict === 'best') (bestWeights ??= new Float64Array(net.params.length)).set(net.params);
    else if (verdict === 'stop') break;
    if (between) await between();
  }
  if (bestWeights) net.params.set(bestWeights);
  return { params: net.params.slice(), history, splitSteps: net.splitSteps };
}

// ---------------------------------------------------------------------------------------------
// The loop in a worker thread
// ---------------------------------------------------------------------------------------------

/** Messages from `autoencoder-worker.js`. */
export type FusedWorkerMessage =
  | { type: 'epoch'; info: FusedEpochInfo }
  | { type: 'shared'; buffers: FusedBuffers }
  | { type: 'done'; result: FusedTrainResult }
  | { type: 'error'; name: string; message: string; stack?: string };

/** What a helper worker gets: the network's shape and the training's shared buffers. */
export interface FusedHelperData {
  spec: FusedMlpSpec;
  buffers: FusedBuffers;
}

/**
 * Counters of the trainings run in a worker thread since the process started (for tests).
 * @internal
 */
export const fusedWorkerStats = { runs: 0, helpers: 0, splitSteps: 0 };

/**
 * The compiled worker script next to this module, or undefined where there is none (running from
 * the TypeScript sources, e.g. under vitest): the caller then trains on its own thread, with the
 * same results.
 */
export function fusedWorkerFile(): string | undefined {
  if (!__filename.endsWith('.js')) return undefined;
  const file = path.join(path.dirname(__filename), 'autoencoder-worker.js');
  return fs.existsSync(file) ? file : undefined;
}

/** A training running in a worker thread. */
export interface FusedWorkerRun {
  /** Settles when the training is done (the worker is terminated by then). */
  result: Promise<FusedTrainResult>;
  /** Stop the worker now; `result` rejects with `reason` (no effect once settled). */
  cancel(reason?: Error): void;
  /**
   * Start a second worker that takes part in every following step (each step split between the
   * two, with bit-identical results; see {@link FusedMlp.buffers}): call it when a core is free.
   * Does nothing once the training is done, a helper runs, the network cannot be shared, or the
   * training is shorter than {@link HELPER_MIN_ROW_EPOCHS} (a helper's start-up would not pay).
   */
  addHelper(): void;
}

/**
 * Start {@link trainFusedLoop} on `input` in a worker thread; `onEpoch` is called on this thread,
 * in order, as the worker's epoch messages arrive (an exception thrown by it stops the worker and
 * rejects the result). An error in the worker rejects the result with the same message. The
 * worker is terminated as soon as the result settles.
 * @returns undefined when no worker can be started here (no compiled worker script, or
 *   `worker_threads` unavailable): train on the calling thread instead
 */
export function startFusedWorker(input: FusedTrainInput, onEpoch: (info: FusedEpochInfo) => void): FusedWorkerRun | undefined {
  const file = fusedWorkerFile();
  if (!file) return undefined;
  let worker: import('node:worker_threads').Worker;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    worker = new Worker(file, { workerData: { ...input, share: true } });
  } catch {
    return undefined;
  }
  fusedWorkerStats.runs++;
  let settled = false;
  let buffers: FusedBuffers | undefined;
  let wantHelper = false;
  let helper: import('node:worker_threads').Worker | undefined;
  const startHelper = (): void => {
    if (settled || helper || !buffers || !wantHelper) return;
    const ctl = buffers.ctl;
    try {
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      const data: FusedHelperData = { spec: fusedSpec(input), buffers };
      helper = new Worker(file, { workerData: { helper: data } });
    } catch {
      return; // the training goes on alone
    }
    fusedWorkerStats.helpers++;
    // A helper that fails or dies is marked gone: the training goes on alone (a step waiting for
    // its rows computes them itself; one waiting for its weight updates, which may be half
    // applied, fails) instead of hanging.
    helper.on('message', (msg: FusedWorkerMessage) => {
      if (msg.type === 'error') markHelperGone(ctl);
    });
    helper.on('error', () => markHelperGone(ctl));
    helper.on('exit', () => {
      if (!settled) markHelperGone(ctl);
    });
  };
  let resolveRun!: (r: FusedTrainResult) => void;
  let rejectRun!: (e: Error) => void;
  const result = new Promise<FusedTrainResult>((res, rej) => {
    resolveRun = res;
    rejectRun = rej;
  });
  const finish = (err: Error | undefined, value?: FusedTrainResult): void => {
    if (settled) return;
    settled = true;
    worker.removeAllListeners('message');
    void worker.terminate().catch(() => {});
    if (helper) {
      helper.removeAllListeners();
      helper.on('error', () => {});
      void helper.terminate().catch(() => {});
    }
    if (err) rejectRun(err);
    else resolveRun(value!);
  };
  worker.on('message', (msg: FusedWorkerMessage) => {
    if (settled) return;
    if (msg.type === 'epoch') {
      try {
        onEpoch(msg.info);
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      }
    } else if (msg.type === 'shared') {
      buffers = msg.buffers;
      startHelper();
    } else if (msg.type === 'done') {
      fusedWorkerStats.splitSteps += msg.result.splitSteps;
      finish(undefined, msg.result);
    } else if (msg.type === 'error') {
      finish(rebuildError(msg));
    }
  });
  worker.on('error', (e) => finish(e instanceof Error ? e : new Error(String(e))));
  worker.on('exit', (code) => finish(new Error(`Autoencoder: the training worker exited (code ${code}) before finishing.`)));
  return {
    result,
    cancel: (reason) => finish(reason ?? new Error('Autoencoder: training cancelled.')),
    addHelper: () => {
      wantHelper = input.order.length * input.epochs >= HELPER_MIN_ROW_EPOCHS;
      startHelper();
    },
  };
}

/** An error with the worker's error's class (when a standard one), message and stack. */
function rebuildError(msg: { name: string; message: string; stack?: string }): Error {
  const Ctors: Record<string, ErrorConstructor> = { RangeError, TypeError, Error };
  const e = new (Ctors[msg.name] ?? Error)(msg.message);
  if (!(msg.name in Ctors)) e.name = msg.name;
  if (msg.stack) e.stack = msg.stack;
  return e;
}
