import { randomUUID } from 'node:crypto';

import { RedisServer } from './redis-server';

/**
 * Redis for a test file: the one named by `REDIS_URL` when the user gives
 * one, otherwise a throw-away server on a free port. Tests isolate their data
 * with a unique key prefix, so a shared server stays usable.
 */
export interface TestRedis {
  readonly url: string;
  /** The server this file started, or `undefined` when `REDIS_URL` names one. */
  readonly server: RedisServer | undefined;
  stop(): Promise<void>;
}

export async function useTestRedis(): Promise<TestRedis> {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== '') {
    return { url: external, server: undefined, stop: () => Promise.resolve() };
  }
  const server = await RedisServer.start();
  return { url: server.url, server, stop: () => server.stop() };
}

/** Returns a key prefix that no other test uses. */
export function uniquePrefix(): string {
  return `test-${randomUUID().slice(0, 8)}`;
}
