/** Types of scripts/notebook/parameters.mjs (for the tests and editors). */
export declare const PARAMETERS_TAG: string;
export declare const INJECTED_TAG: string;

export declare class ParameterError extends Error {
  constructor(message: string);
}

export interface ParameterLine {
  name: string;
  value: unknown;
  literal: string;
  comment: string;
}

export interface FoundParameters {
  index: number;
  parameters: (ParameterLine & { line: number })[];
}

export interface ParamArg {
  name: string;
  value: unknown;
  raw: string;
}

export interface ResolvedParameter {
  name: string;
  value: unknown;
  defaultValue: unknown;
  overridden: boolean;
}

export declare function jsonType(v: unknown): string;
export declare function parseParameterLine(line: string): ParameterLine | null;
export declare function findParameters(nb: any, name?: string): FoundParameters | null;
export declare function parseParamArgs(args: string[]): ParamArg[];
export declare function resolveParameters(found: FoundParameters | null, overrides: ParamArg[], name?: string): ResolvedParameter[];
export declare function injectedSource(resolved: ResolvedParameter[]): string;
export declare function injectParameters(nb: any, found: FoundParameters | null, resolved: ResolvedParameter[]): any;
