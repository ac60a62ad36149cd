import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface ShellOutcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command` with `args` and exactly `env` plus PATH, and collects its
 * output. Used to run the shell snippets of the scheduler recipes as they are
 * written.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<ShellOutcome> {
  const child = spawn(command, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [exitCode] = (await once(child, 'close')) as [number | null];
  return { exitCode, stdout, stderr };
}
