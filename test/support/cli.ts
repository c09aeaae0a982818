/** Run the nal CLI in-process with captured output. */
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/commands';

/** A writable that keeps what is written. */
export class Capture extends Writable {
  text = '';
  _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/** `nal ...argv`: exit code, stdout and stderr. */
export async function nal(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(argv, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}
