/**
 * The ES module entry of network-anomaly-lab (`import ... from 'network-anomaly-lab'` in an ES
 * module): the same objects as the CommonJS entry (`require('network-anomaly-lab')`), re-exported
 * from it, so both module systems share one instance of the library (no dual-package hazard).
 *
 * @example
 * ```ts
 * import * as nal from 'network-anomaly-lab';
 * import { AnomalyEnsemble, loadTraffic } from 'network-anomaly-lab';
 * import nalDefault from 'network-anomaly-lab'; // the whole API as one object, as `require` gives it
 * ```
 */
import nal from './index.js';

export * from './index.js';
export default nal;
