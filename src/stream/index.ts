/** Streaming: chunked CSV reading and detection over unbounded sources in bounded memory. */
export { readCsvChunks, openCsvSource, CsvRecordSplitter, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MAX_CHUNK_TEXT, DEFAULT_MAX_LINE_BYTES } from './csv-reader';
export type { CsvSource, CsvChunk, CsvChunkOptions, OpenedSource } from './csv-reader';
export { readTrafficChunks } from './traffic-stream';
export { readZeekChunks } from './zeek-reader';
export type { TrafficChunk, TrafficChunkOptions } from './traffic-stream';
export { detectStream, detectCsvStream, detectCsvToFile, writeDetectionCsv, chunkToCsv, modelSchema, skippedRowsFileFor } from './detect-stream';
export type { StreamRow, DetectionChunk, DetectStreamOptions, DetectCsvStreamOptions, StreamSummary } from './detect-stream';
