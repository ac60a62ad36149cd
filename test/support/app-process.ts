import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One line of the JSON log that the application writes with `LOG_FORMAT=json`. */
export interface LogLine {
  readonly level: string;
  readonly message: unknown;
  readonly context?: string;
}

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Entry points of the built application. */
export type EntryPoint = 'main' | 'worker';

const ROOT = join(__dirname, '..', '..');

/**
 * The built application (`node dist/main.js` or `node dist/worker.js`)
 * running as a child process, as a container would run it. The environment
 * holds only `PATH` and what the test passes, and logs are JSON lines, so a
 * test can wait for a log line instead of sleeping.
 */
export class AppProcess {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<ProcessExit>;
  private readonly logWaiters: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];

  private constructor(private readonly child: ChildProcess) {
    this.exited = once(child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
    // ConsoleLogger writes errors to stderr and everything else to stdout.
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (text) => this.receive(text));
    }
  }

  /**
   * Starts an entry point and resolves once it logs `readyMessage` (a
   * substring), or rejects when it exits first.
   */
  static async start(entry: EntryPoint, env: Record<string, string>, readyMessage: string): Promise<AppProcess> {
    const child = spawn(process.execPath, [join(ROOT, 'dist', `${entry}.js`)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const app = new AppProcess(child);
    const ready = app.waitForMessage(readyMessage);
    const exitedFirst = app.exited.then((exit) => {
      throw new Error(`${entry}.js exited with code ${exit.code} before it was ready:\n${app.describeLogs()}`);
    });
    await Promise.race([ready, exitedFirst]);
    exitedFirst.catch(() => undefined);
    return app;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first log line, past or future, that matches. */
  waitForLog(predicate: (line: LogLine) => boolean): Promise<LogLine> {
    const seen = this.logs.find(predicate);
    if (seen !== undefined) {
      return Promise.resolve(seen);
    }
    return new Promise((resolve) => this.logWaiters.push({ predicate, resolve }));
  }

  /** Resolves once a log line contains `text`. */
  waitForMessage(text: string): Promise<LogLine> {
    return this.waitForLog((line) => messageText(line).includes(text));
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Ends the process with SIGKILL, as a crash or an out-of-memory kill would, and waits for it. */
  async kill(): Promise<ProcessExit> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  describeLogs(): string {
    return this.logs.map((line) => `${line.level} [${line.context ?? ''}] ${messageText(line)}`).join('\n');
  }

  private receive(text: string): void {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { level: 'raw', message: text };
    }
    this.logs.push(line);
    for (const waiter of [...this.logWaiters]) {
      if (waiter.predicate(line)) {
        this.logWaiters.splice(this.logWaiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  }
}

/** The text of a log line; structured lines carry it in `message.message`. */
export function messageText(line: LogLine): string {
  const { message } = line;
  if (typeof message === 'object' && message !== null && 'message' in message) {
    return String(message.message);
  }
  return String(message);
}
