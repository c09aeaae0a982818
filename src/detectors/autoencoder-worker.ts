/**
 * Worker-thread entry of the fused autoencoder training (compiled to `autoencoder-worker.js` and
 * started by {@link startFusedWorker}). Either the training itself: runs {@link trainFusedLoop}
 * on the `workerData` input with its buffers shared, posting them, one message per epoch, then the
 * result (or the error); or, with `workerData.helper`, a helper that takes part in the steps of
 * that training through the shared buffers ({@link FusedMlp.serveAsHelper}) until it ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FusedMlp, trainFusedLoop, type FusedHelperData, type FusedTrainInput, type FusedWorkerMessage } from './autoencoder-fused';

const port = parentPort;
if (port) {
  const post = (m: FusedWorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  const fail = (e: unknown): void => {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ type: 'error', name: err.name, message: err.message, stack: err.stack });
  };
  const helper = (workerData as { helper?: FusedHelperData }).helper;
  if (helper) {
    try {
      new FusedMlp(helper.spec, { buffers: helper.buffers }).serveAsHelper();
    } catch (e) {
      fail(e);
    }
  } else {
    trainFusedLoop(
      workerData as FusedTrainInput,
      (info) => post({ type: 'epoch', info }),
      undefined,
      (buffers) => post({ type: 'shared', buffers }),
    ).then((result) => post({ type: 'done', result }, [result.params.buffer as ArrayBuffer]), fail);
  }
}
