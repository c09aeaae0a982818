/** Types of scripts/notebook/render.mjs (for the tests and editors). */
export declare const STYLESHEET: string;
export declare const DISPLAY_PRIORITY: string[];
export declare const REMOVE_INPUT_TAGS: string[];
export declare const PLOTLY_MIME: string;
export declare function escapeHtml(s: string): string;
export declare function highlightCode(code: string, language?: string): string;
export declare function ansiToHtml(text: string): string;
export declare function headingId(innerHtml: string): string;
export declare function markdownToHtml(source: string, opts?: { attachments?: Record<string, Record<string, string>>; language?: string }): string;
export declare function coalesceStreams(outputs: any[]): any[];
export declare function pickMimeType(data: Record<string, unknown>, widgetState?: Record<string, unknown>): string | null;
export declare function notebookTitle(nb: any, fallback?: string): string;
export declare function reportCss(): string;
export declare function renderNotebook(nb: any, opts?: { title?: string; language?: string }): string;
