import { setTimeout as sleep } from 'node:timers/promises';

/** Counts sampled from the process or from Redis, by name. */
export type Counts = Readonly<Record<string, number>>;

const SAMPLES = 20;
const SAMPLE_INTERVAL_MS = 50;

/** Active timers and TCP sockets of this process. */
export interface OpenResources extends Counts {
  readonly timers: number;
  readonly sockets: number;
}

/** Counts the active timers and TCP sockets of this process. */
export function openResources(): OpenResources {
  const types = process.getActiveResourcesInfo();
  return {
    timers: types.filter((type) => type === 'Timeout').length,
    sockets: types.filter((type) => type === 'TCPSocketWrap').length,
  };
}

/**
 * Returns the lowest of each count over a series of samples. Jest may run
 * test files in band, in this process, and its reporter's timers come and go
 * while the samples are taken. The minimum is the steady state.
 */
export async function lowestCounts<T extends Counts>(sample: () => T | Promise<T>): Promise<T> {
  const samples: T[] = [];
  for (let index = 0; index < SAMPLES; index += 1) {
    if (index > 0) {
      await sleep(SAMPLE_INTERVAL_MS);
    }
    samples.push(await sample());
  }
  const lowest: Record<string, number> = {};
  for (const name of Object.keys(samples[0]!)) {
    lowest[name] = Math.min(...samples.map((counts) => counts[name]!));
  }
  return lowest as T;
}

/**
 * Samples until no count named in `limits` is above its limit, or until
 * `timeoutMs` passes, and returns the last sample. A leaked timer, socket or
 * connection keeps a count above its limit, so the caller's assertions on the
 * returned counts fail and name it.
 */
export async function countsBackTo<T extends Counts>(
  sample: () => T | Promise<T>,
  limits: Partial<T>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const isAbove = (counts: T): boolean =>
    Object.entries(limits).some(([name, limit]) => counts[name]! > (limit as number));
  let latest = await sample();
  while (isAbove(latest) && Date.now() < deadline) {
    await sleep(SAMPLE_INTERVAL_MS);
    latest = await sample();
  }
  return latest;
}
