import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `condition` until it holds, for states that no event announces (a
 * connection blocked in BZPOPMIN, a lock that expired). Rejects with
 * `description` when it does not hold within `timeoutMs`.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  description: string,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${description}.`);
    }
    await sleep(intervalMs);
  }
}
