/**
 * Worker-thread entry of the fused autoencoder training (compiled to `autoencoder-worker.js` and
 * started by {@link startFusedWorker}): runs {@link trainFusedLoop} on the `workerData` input,
 * posting one message per epoch, then the result (or the error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { trainFusedLoop, type FusedTrainInput, type FusedWorkerMessage } from './autoencoder-fused';

const port = parentPort;
if (port) {
  const post = (m: FusedWorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);
  trainFusedLoop(workerData as FusedTrainInput, (info) => post({ type: 'epoch', info })).then(
    (result) => post({ type: 'done', result }, [result.params.buffer as ArrayBuffer]),
    (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      post({ type: 'error', name: err.name, message: err.message, stack: err.stack });
    },
  );
}
