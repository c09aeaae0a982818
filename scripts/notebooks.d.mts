/** Types of scripts/notebooks.mjs (for the tests and editors). */

export declare const ROOT: string;
export declare const NOTEBOOKS_DIR: string;
export declare const REPORTS_DIR: string;
export declare const LOCAL_JUPYTER: string;
export declare const KERNEL_NAME: string;
export declare const TSLAB_BIN: string;
export declare const RUN_MODULES: string[];
export declare const OPEN_MODULES: string[];
export declare const INSTALL_HELP: string;
export declare const EXECUTORS: string[];
export declare const PROVENANCE_TAGS: string[];

export declare class UserError extends Error {
  exitCode: number;
  constructor(message: string, exitCode?: number);
}

export interface PythonProbe {
  python: string | null;
  tried: { cmd: string; problem: string }[];
}

export interface ChartCount {
  count: number;
  expected: number | null;
  titles: string[];
}

export interface NotebookAnalysis {
  errors: string[];
  warnings: string[];
  charts: ChartCount;
  /** Datasets the notebook requires (metadata.nal.requiresData) that are absent: its charts were not checked. */
  dataMissing: string[];
}

export interface RunParameter {
  name: string;
  value: unknown;
  defaultValue: unknown;
  overridden: boolean;
}

export interface NotebookResult extends NotebookAnalysis {
  name: string;
  /** The parameters the run used (empty when the notebook has no parameters cell). */
  parameters: RunParameter[];
  notebook: string;
  ipynb: string;
  html: string;
  seconds: number;
  status: string;
  /** Names of the missing datasets in messages, e.g. "NSL-KDD". */
  dataMissingTitles?: string[];
}

export interface RunOptions {
  names?: string[];
  /** `KEY=VALUE` each, as `--param` takes them. */
  params?: string[];
  /** Require every notebook to declare its charts. */
  strict?: boolean;
  /** `node` (default) or `nbclient`. */
  executor?: string;
  totalTimeout?: number | string;
  jobs?: number | string;
  timeout?: number | string;
  outDir?: string;
  build?: boolean;
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface NotebookSpec {
  expectedCharts: number | null;
  expectedTitles: string[] | null;
  allowStderr: RegExp[];
  requiresData: string[];
}

export type Notebook = { cells: any[]; metadata: Record<string, any>; nbformat: number; nbformat_minor: number };

export declare function isCI(): boolean;
export declare function findPython(modules?: string[]): PythonProbe;
export declare function jupyterEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
export declare function tslabKernelSpecs(binary?: string): Record<'tslab' | 'jslab', { argv: string[]; display_name: string; language: string }>;
export declare function setupKernel(opts?: { force?: boolean; log?: (line: string) => void }): string;
export declare function ensureBuilt(opts?: { log?: (line: string) => void }): boolean;
export declare function listNotebooks(names?: string[]): string[];
export declare function readNotebook(file: string): Notebook;
export declare function notebookSpec(nb: Notebook): NotebookSpec;
export declare function findCharts(nb: Notebook): { count: number; titles: string[] };
export declare function analyzeNotebook(nb: Notebook, opts?: { dataMissing?: string[]; strict?: boolean }): NotebookAnalysis;
export declare function prepareNotebook(
  nb: Notebook,
  opts?: { name?: string; file?: string; overrides?: { name: string; value: unknown; raw: string }[]; executor?: string },
): { notebook: Notebook; parameters: RunParameter[] };
export declare function missingData(names: string[] | undefined, env?: Record<string, string>): { dataset: string; title: string; message: string }[];
export declare function runNotebooks(opts?: RunOptions): Promise<{ ok: boolean; seconds: number; results: NotebookResult[] }>;
export declare function stripNotebook(nb: Notebook): Notebook;
export declare function notebookHasOutputs(nb: Notebook): boolean;
export declare function formatNotebook(nb: Notebook): string;
export declare function stripNotebooks(opts?: { names?: string[]; check?: boolean; log?: (line: string) => void }): string[];
export declare function openNotebooks(extraArgs?: string[]): Promise<number>;
export declare function installUserKernel(opts?: { log?: (line: string) => void }): string;
export declare function doctor(): number;
export declare function findChromium(): string | null;
export declare function main(argv: string[]): Promise<number>;
