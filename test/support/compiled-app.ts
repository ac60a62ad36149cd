import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '../..');

/**
 * The application compiled with the production build configuration, as the
 * image runs it. The output goes below node_modules/.cache, so that the
 * compiled files resolve the project's dependencies.
 */
export class CompiledApp {
  private constructor(readonly directory: string) {}

  static async build(): Promise<CompiledApp> {
    const directory = join(ROOT, 'node_modules', '.cache', 'nest-cron-drain-e2e', randomUUID());
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', directory], {
      cwd: ROOT,
    });
    return new CompiledApp(directory);
  }

  /** Path of a compiled entry point, such as `cli.js`. */
  entry(name: string): string {
    return join(this.directory, name);
  }

  /** Starts `node <entry> ...args` with exactly `env` plus PATH. */
  start(entry: string, args: readonly string[], env: Record<string, string>): RunningProcess {
    const child = spawn(process.execPath, [this.entry(entry), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new RunningProcess(child);
  }

  async remove(): Promise<void> {
    await rm(this.directory, { recursive: true, force: true });
  }
}

export interface ProcessOutcome {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A started process whose output is collected until it exits. */
export class RunningProcess {
  private stdout = '';
  private stderr = '';
  private readonly exited: Promise<ProcessOutcome>;

  constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = once(child, 'close').then(([exitCode, signal]) => ({
      exitCode: exitCode as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout: this.stdout,
      stderr: this.stderr,
    }));
  }

  /** Resolves once stderr contains `text`, or rejects when the process exits first. */
  async waitForStderr(text: string): Promise<void> {
    while (!this.stderr.includes(text)) {
      const chunk = once(this.child.stderr!, 'data').then(() => 'data' as const);
      const outcome = await Promise.race([chunk, this.exited.then(() => 'exited' as const)]);
      if (outcome === 'exited' && !this.stderr.includes(text)) {
        throw new Error(`The process exited before writing "${text}" to stderr:\n${this.stderr}`);
      }
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  finished(): Promise<ProcessOutcome> {
    return this.exited;
  }
}
