/** Types of scripts/notebook/kernel.mjs (for the tests and editors). */
import type { ChildProcess } from 'node:child_process';

export declare const PROTOCOL_VERSION: string;

export declare class KernelError extends Error {
  code: 'no-kernelspec' | 'startup' | 'dead' | 'signature' | 'closed' | string;
  stderr: string;
  constructor(message: string, code: string, stderr?: string);
}

export interface JupyterMessage {
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: any;
  metadata: any;
  content: any;
  buffers: Buffer[];
}

export interface DecodedMessage extends JupyterMessage {
  identities: Buffer[];
  msg_type: string;
  channel?: string;
}

export interface KernelSpec {
  name: string;
  file: string;
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: string;
  env: Record<string, string>;
}

export interface ConnectionInfo {
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  ip: string;
  key: string;
  transport: string;
  signature_scheme: string;
  kernel_name: string;
}

export declare function sign(key: string, frames: (string | Buffer)[]): string;
export declare function newMessage(msgType: string, content: object, opts: { session: string; username?: string; parent?: object; metadata?: object }): JupyterMessage;
export declare function encodeMessage(key: string, msg: Partial<JupyterMessage> & { header: object }, identities?: Buffer[]): (string | Buffer)[];
export declare function decodeMessage(key: string, frames: Buffer[]): DecodedMessage;
export declare function jupyterUserDataDir(env?: NodeJS.ProcessEnv): string;
export declare function jupyterDataDirs(env?: NodeJS.ProcessEnv): string[];
export declare function findKernelSpec(name: string, dirs?: string[]): KernelSpec;
export declare function freePorts(n: number, ip?: string): Promise<number[]>;
export declare function newConnectionInfo(opts?: { ip?: string; kernelName?: string }): Promise<ConnectionInfo>;
export declare function killAllKernels(): number;

export declare class KernelClient {
  child: ChildProcess;
  connection: ConnectionInfo;
  connectionFile: string;
  spec: KernelSpec;
  session: string;
  info?: any;
  exited: boolean;
  exitInfo: { code: number | null; signal: string | null } | null;
  request(
    channel: 'shell' | 'control',
    msgType: string,
    content: object,
    handlers?: { onReply?: (m: DecodedMessage) => void; onIopub?: (m: DecodedMessage) => void; onDead?: (e: KernelError) => void; metadata?: object },
  ): Promise<string>;
  forget(msgId: string): void;
  ask(channel: 'shell' | 'control', msgType: string, content: object, timeoutMs: number): Promise<DecodedMessage | null>;
  waitForReady(timeoutMs: number): Promise<any>;
  interrupt(): Promise<void>;
  signal(sig: NodeJS.Signals): void;
  groupAlive(): boolean;
  shutdown(opts?: { graceMs?: number; now?: boolean }): Promise<void>;
  close(): void;
}

export declare function startKernel(opts: {
  spec: KernelSpec;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  runtimeDir?: string;
  startupTimeoutMs?: number;
  log?: (line: string) => void;
}): Promise<KernelClient>;
