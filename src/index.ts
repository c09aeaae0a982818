/**
 * network-anomaly-lab: unsupervised anomaly detection for network traffic.
 *
 * The whole public API, by area.
 */

// core contract
export {
  AnomalyLabError,
  NotFittedError,
  FeatureMismatchError,
  DataValidationError,
  ModelFormatError,
  MissingDependencyError,
  PathError,
  FolderInUseError,
  InterruptedError,
} from './core/errors';
export { BaseDetector } from './core/detector';
export type { DetectorName, BaseDetectorOptions, DetectorSnapshot } from './core/detector';
export { Random, checkSeed, type RandomState } from './core/random';
export { calibrateThreshold, checkContamination, quantileSorted, AUTO_FENCE_IQR, AUTO_MAX_SHARE } from './core/threshold';
export type { Contamination } from './core/threshold';
export { toDense, denseMatrix, takeRows, column, toArrays, toMlMatrix } from './core/matrix';
export type { DenseMatrix, MatrixLike } from './core/matrix';
export { atomicWriteFile, atomicWriteStream, checkOutputPath, checkModelFolderWritable, lockModelFolder, LOCK_FILE } from './core/persistence';
export type { FolderLock } from './core/persistence';
export { runCleanups, removeStaleTempFiles } from './core/cleanup';

// data
export {
  SEED_FEATURES,
  SEED_FEATURE_UNITS,
  SEED_SCHEMA,
  NSL_KDD_FEATURES,
  NSL_KDD_SCHEMA,
  ODDS_SCHEMA,
  FLOWS_SCHEMA,
  FLOW_FEATURES,
  ZEEK_CONN_SCHEMA,
  CICFLOWMETER_SCHEMA,
  DATASETS,
  checkDatasetSchema,
  loadDatasetSchema,
  resolveDatasetSchema,
} from './data/schema';
export type { DatasetSchema } from './data/schema';
export { loadTraffic, parseCsv, parseCsvWithSchema, parseTable, parseTraffic, encodeTraffic, readTextFile, csvLine, checkHeader, MAX_WHOLE_FILE_BYTES } from './data/csv';
export { DEFAULT_MAX_LINE_BYTES } from './data/text';
export { parseZeekLog, ZeekLogParser, ZEEK_CONN_FIELDS } from './data/zeek';
export { BAD_ROW_POLICIES, badRowsError, writeSkippedRows, SkippedRowsFile, skippedRowsHeader } from './data/bad-rows';
export type { BadRowPolicy, SkippedRow } from './data/bad-rows';
export { TrafficEncoder, MAX_CATEGORIES, LOG1P_AUTO_SKEWNESS, isHeavyTailed } from './data/encoder';
export type { TrafficEncoderState, UnseenCategories, ClampedValues, Log1pOption, BadCellHandler } from './data/encoder';
export type { TrafficData, CsvTable, LoadOptions } from './data/csv';
export { generateTraffic, generateTrafficCsv, trafficToCsv, pythonFloat } from './data/generator';
export type { GenerateOptions, GenerateCsvOptions } from './data/generator';
export { subsetRows, sampleRows, splitTraffic } from './data/split';
export { locateDataset, datasetSearchPath, DATASET_SOURCES, DATA_DIR_ENV, PACKAGE_ROOT } from './data/locate';
export type { DatasetLocation, DatasetSource, DatasetFile, SearchedPlace, LocateOptions } from './data/locate';
export { anomalyBursts } from './data/scenario';
export type { AnomalyBurstOptions } from './data/scenario';
export { StandardScaler } from './preprocess/standard-scaler';

// detectors
export { IsolationForest, averagePathLength } from './detectors/isolation-forest';
export type { IsolationForestOptions } from './detectors/isolation-forest';
export { OneClassSvm } from './detectors/one-class-svm';
export type { OneClassSvmOptions } from './detectors/one-class-svm';
export { LocalOutlierFactor } from './detectors/local-outlier-factor';
export type { LocalOutlierFactorOptions } from './detectors/local-outlier-factor';
export { KNearestNeighbors } from './detectors/knn';
export type { KNearestNeighborsOptions, KnnScore } from './detectors/knn';
export { Ecod } from './detectors/ecod';
export type { EcodOptions } from './detectors/ecod';
export { Copod } from './detectors/copod';
export type { CopodOptions } from './detectors/copod';
export { Hbos } from './detectors/hbos';
export type { HbosOptions } from './detectors/hbos';
export { Pca } from './detectors/pca';
export type { PcaOptions, PcaScore } from './detectors/pca';
export { Autoencoder } from './detectors/autoencoder';
export type { AutoencoderOptions, AutoencoderEngine } from './detectors/autoencoder';
export { loadTf, tfBackendName } from './core/tf';
export { loadKernels } from './compute/dense';

// ensemble
export { AnomalyEnsemble, DETECTOR_NAMES, SEED_DETECTORS, DEFAULT_DETECTORS, DEFAULT_LOF_NEIGHBORS, DETECTOR_LABELS, PRESETS, resolveEnsembleOptions, MODEL_FORMAT_VERSION, MAX_SCALED_VALUE } from './ensemble/ensemble';
export type { EnsembleOptions, DetectionResult, Decision, Preset, FitProgress } from './ensemble/ensemble';
export { countVotes, majorityVote, confidence, severity, fuseScores, topMeanScores, topCount, TOP_SHARE, normalizeScores, scoreStats, agreementWeights, AGREEMENT_POWER, AGREEMENT_FLOOR } from './ensemble/combine';
export type { Severity, ScoreStats, Normalization, Fusion } from './ensemble/combine';
export { evaluateDetection, evaluateWithModel, metricsByModel } from './ensemble/evaluate';
export type { EvaluationReport } from './ensemble/evaluate';
export { detectionToCsv, detectionRows, resultColumns } from './ensemble/output';
export { selectDetection } from './ensemble/select';

// streaming (detection over files of any size, stdin or live generators, in bounded memory)
export { readCsvChunks, readTrafficChunks, readZeekChunks, detectStream, detectCsvStream, detectCsvToFile, writeDetectionCsv, skippedRowsFileFor } from './stream';
export type { CsvSource, CsvChunk, CsvChunkOptions, TrafficChunk, TrafficChunkOptions, StreamRow, DetectionChunk, DetectStreamOptions, DetectCsvStreamOptions, StreamSummary } from './stream';

// packet captures: pcap/pcapng in, bidirectional flows out (docs/FLOWS.md), and a seeded packet synthesizer
export { readCapture, forEachPacket, openCapture, CaptureParser, PacketView, LINK_TYPES, linkTypeName, isSupportedLinkType, MAX_PACKET_BYTES, MAX_RECORD_BYTES } from './capture/pcap';
export type { CaptureSource, CaptureInterface, CaptureInfo, CapturedPacket, ReadCaptureOptions, OpenedCapture } from './capture/pcap';
export { decodePacket, DecodedPacket, ipv4String, ipv6String, protocolName, PROTOCOL_NAMES } from './capture/decode';
export type { SkipReason } from './capture/decode';
export { FlowMeter, captureFlows, flowCells, flowCsvLine, isoTime, DEFAULT_FLOW_OPTIONS, FLOW_COLUMNS, FLOW_IDENTIFIERS } from './capture/flows';
export type { FlowOptions, FlowRecord, FlowEndReason, FlowMeterStats, SkippedPackets, CaptureFlowSummary, CaptureFlowOptions } from './capture/flows';
export { flowsToCsv, writeFlowsCsv, loadCaptureFlows, flowsToTraffic } from './capture/export';
export type { WriteFlowsOptions } from './capture/export';
export { CaptureWriter, writeCaptureFile, buildIpPacket, frameFor, addressBytes } from './capture/writer';
export type { PacketSpec, CaptureWriterOptions } from './capture/writer';
export { synthesizePackets, synthesizeCapture, labelFlows, ATTACK_KINDS } from './capture/synth';
export type { SynthOptions, SynthCaptureOptions, SynthCapture, SynthSession, SessionKind } from './capture/synth';

// metrics
export { confusion, rates, rocAuc, rocCurve, prCurve, averagePrecision, detectionMetrics } from './metrics/classification';
export type { DetectionMetrics, Confusion, CurvePoint } from './metrics/classification';
// charts (builders return Plotly { data, layout } and never render; display renders in tslab)
export { DETECTOR_COLORS, SEVERITY_COLORS, SEVERITY_ORDER, CLASS_COLORS, UI_COLORS, HEATMAP_COLORSCALE, CHART_FONT, baseLayout, axisStyle } from './charts/palette';
export type { BaseLayoutOptions } from './charts/palette';
export { modelLabel } from './charts/figure';
export type { Figure, Trace, Layout, ChartOptions } from './charts/figure';
export {
  timelineChart,
  severityOverTimeChart,
  severityDistributionChart,
  confidenceSeverityChart,
  agreementChart,
  detectorComparisonChart,
  voteBreakdownChart,
} from './charts/detection';
export type {
  TimestampSource,
  TimelineOptions,
  SeverityOverTimeOptions,
  SeverityDistributionOptions,
  StatsSource,
  VoteBreakdownOptions,
} from './charts/detection';
export { confusionMatrixChart, rocCurveChart, prCurveChart } from './charts/evaluation';
export type { CurveChartOptions } from './charts/evaluation';
export { featureDistributionChart, featureImportanceChart } from './charts/features';
export type { FeatureDistributionOptions, FeatureImportance, FeatureImportanceOptions } from './charts/features';
export { lossCurveChart } from './charts/training';
export type { LossCurveOptions } from './charts/training';
export { showChart, showTable, chartHtml, tableHtml, plotlyScriptTag, plotlyBundlePath, PLOTLY_CONFIG, createLiveChart } from './charts/display';
export type { ShowChartOptions, ShowTableOptions, ChartHtmlOptions, HtmlSink, LiveChart, LiveChartOptions } from './charts/display';
export { saveChart, chartPage, findChromium, CHART_FORMATS } from './charts/save';
export type { SaveChartOptions, ChartFormat } from './charts/save';
export { StreamHistory, streamChart } from './charts/stream';
export { flowsOverTimeChart, topTalkersChart, flaggedFlowsChart } from './charts/flows';
export type { FlowsOverTimeOptions, TopTalkersOptions } from './charts/flows';
export type { StreamWindow, StreamPoint, StreamTotals, StreamState, StreamHistoryOptions, ScoredWindow, StreamChartOptions } from './charts/stream';
export { createProgressBar } from './charts/progress';
export type { ProgressBar, ProgressBarOptions } from './charts/progress';

// explainability (permutation importance, per-row explanations) and the operator feedback loop
export { rowId, rowIds, rowIdsAt, featureSetId, ROW_ID_LENGTH } from './ensemble/output';
export type { RowIdSource, DetectionRow } from './ensemble/output';
export { featureProfile, robustZ, trainingPercentile, PROFILE_QUANTILES } from './explain/profile';
export type { FeatureProfile } from './explain/profile';
export { explainRow, explainRows, explanationTable, detectorTable, flaggedRows } from './explain/explain';
export type { RowExplanation, DetectorExplanation, FeatureContribution, ExplainOptions, ExplanationTableRow } from './explain/explain';
export { permutationImportance, rankFeatures, importanceTable } from './explain/permutation';
export type { PermutationImportance, PermutationImportanceOptions, ModelImportance, FeatureImportanceStat } from './explain/permutation';
export {
  FEEDBACK_FILE,
  FEEDBACK_LABELS,
  feedbackPath,
  appendFeedback,
  loadFeedback,
  parseFeedback,
  feedbackLog,
  feedbackStats,
  labelRows,
  checkFeedbackRecord,
} from './feedback/store';
export type { FeedbackLabel, FeedbackRecord, FeedbackLog, FeedbackStats, FeedbackConflict, RowSelection, ParseFeedbackOptions } from './feedback/store';
export {
  retrainWithFeedback,
  feedbackTrainingSet,
  feedbackWeights,
  adjustContamination,
  DEFAULT_FP_WEIGHT,
  MAX_FP_WEIGHT,
  MIN_LABELS_PER_CLASS,
  FEEDBACK_WEIGHT_PRIOR,
} from './feedback/retrain';
export type { RetrainOptions, RetrainResult, FeedbackTrainingSet, FeedbackTrainingOptions, FeedbackTrainingInput, FeedbackWeights } from './feedback/retrain';
export { runFeedbackExperiment } from './feedback/experiment';
export type { FeedbackExperimentOptions, FeedbackExperimentReport, FeedbackRound, SplitMetrics, ReviewOrder } from './feedback/experiment';
export { explanationChart, importanceByModelChart, feedbackRoundsChart } from './charts/explain';
export type { ExplanationChartOptions, ImportanceByModelOptions } from './charts/explain';

// DataFrames (danfo.js, an optional peer loaded on first use): every result as a DataFrame, and one
// display call for frames, figures and rows
export { danfo, isFrame, isSeries, DANFO_PACKAGE, DANFO_OVERRIDES } from './frames/danfo';
export type { DataFrame, Series, DanfoModule } from './frames/danfo';
export {
  toDataFrame,
  trafficToDataFrame,
  dataFrameToTraffic,
  detectionToDataFrame,
  metricsToDataFrame,
  importanceToDataFrame,
  feedbackRoundsToDataFrame,
  streamWindowsToDataFrame,
  flowsToDataFrame,
} from './frames/convert';
export { frameText, frameHtml } from './frames/format';
export type { FrameLike, FrameFormatOptions } from './frames/format';
export { show } from './frames/show';
export type { ShowOptions } from './frames/show';

// provenance of a run (every `npm start` report ends with it)
export { recordDataFile, recordSeed, recordedDataFiles, recordedSeeds, resetProvenance } from './core/provenance';
export type { ProvenanceSeed } from './core/provenance';
export { collectProvenance, provenanceHtml, provenanceText, showProvenance, sha256File, gitState } from './report/provenance';
export type { Provenance, ProvenanceParameter, ProvenanceFile, CollectProvenanceOptions } from './report/provenance';
