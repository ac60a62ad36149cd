import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

import { format, resolveConfig } from 'prettier';

/** Directory of the committed results, relative to the compiled scripts' working directory. */
export const RESULTS_DIRECTORY = join(process.cwd(), 'bench', 'results');

export interface MachineInfo {
  readonly cpuCount: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly redis: string;
  readonly bullmq: string;
  readonly ioredis: string;
}

export interface BenchResult<Data> {
  readonly name: string;
  readonly command: string;
  readonly finishedAt: string;
  readonly machine: MachineInfo;
  readonly data: Data;
}

export function machineInfo(): MachineInfo {
  const redisVersion = execFileSync('redis-server', ['-v'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? 'unknown';
  return {
    cpuCount: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    redis: redisVersion,
    bullmq: packageVersion('bullmq'),
    ioredis: packageVersion('ioredis'),
  };
}

/** Writes `bench/results/<name>.json`, formatted as the repository's Prettier check expects, and returns the path. */
export async function writeResult<Data>(name: string, data: Data): Promise<string> {
  const result: BenchResult<Data> = {
    name,
    command: `npm run bench:${name}`,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    data,
  };
  mkdirSync(RESULTS_DIRECTORY, { recursive: true });
  const path = join(RESULTS_DIRECTORY, `${name}.json`);
  await writeFormatted(path, JSON.stringify(result, null, 2));
  return path;
}

export function readResult<Data>(name: string): BenchResult<Data> {
  const path = join(RESULTS_DIRECTORY, `${name}.json`);
  return JSON.parse(readFileSync(path, 'utf8')) as BenchResult<Data>;
}

function packageVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(process.cwd(), 'node_modules', name, 'package.json'), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** Writes a file formatted with the repository's Prettier settings. */
export async function writeFormatted(path: string, text: string): Promise<void> {
  const options = await resolveConfig(path);
  writeFileSync(path, await format(text, { ...options, filepath: path }));
}
