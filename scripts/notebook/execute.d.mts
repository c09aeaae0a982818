/** Types of scripts/notebook/execute.mjs (for the tests and editors). */
import type { KernelSpec } from './kernel.mjs';

export interface ExecuteOptions {
  spec: KernelSpec;
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Seconds a cell may run (default 600; 0: no limit). */
  timeout?: number;
  /** Seconds the whole notebook may run (default: no limit). */
  totalTimeout?: number;
  startupTimeout?: number;
  interruptGrace?: number;
  runtimeDir?: string;
  /** Tags of cells that still run after a failure, while the kernel lives. */
  alwaysRun?: string[];
  onCell?: (event: { type: 'cell'; index: number; count: number; total: number }) => void;
  log?: (line: string) => void;
}

export interface ExecuteResult {
  notebook: any;
  status: 'ok' | 'error' | 'timeout' | 'dead-kernel' | 'failed-to-run';
  message: string | null;
  failedCell: number | null;
  seconds: number;
  kernelPid: number | null;
}

export declare function cellLabel(index: number | null): string;
export declare function outputFromMessage(msg: { msg_type: string; content: any }): any | null;
export declare function errorOutputFromStderr(cell: any, status: string, message: string | null): { output_type: 'error'; ename: string; evalue: string; traceback: string[] } | null;
export declare function normalizeCellIds(nb: any): number;
export declare function executeNotebook(nb: object, opts: ExecuteOptions): Promise<ExecuteResult>;
export declare function formatExecutedNotebook(nb: object): string;
export declare function splitLines(s: string): string[];
export declare function notebookCwd(file: string): string;
