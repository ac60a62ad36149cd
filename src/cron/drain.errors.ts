/** Thrown by a drain when `REDIS_URL` is not configured. The endpoint returns 500. */
export class RedisNotConfiguredError extends Error {
  constructor() {
    super('REDIS_URL is not configured. Set REDIS_URL to a redis:// or rediss:// URL and restart the process.');
    this.name = RedisNotConfiguredError.name;
  }
}

/**
 * Thrown by a drain when Redis cannot be reached or the connection is lost
 * during the call. The endpoint returns 503. Jobs that were running keep their
 * lock until it expires, and the next call recovers them.
 */
export class RedisUnavailableError extends Error {
  /**
   * @param lostDuringCall Whether the call had connected, so that some jobs
   * may have completed before the connection was lost.
   */
  constructor(
    readonly reason: string,
    readonly lostDuringCall = false,
  ) {
    super(`Redis is unavailable: ${reason}. Retry later.`);
    this.name = RedisUnavailableError.name;
  }
}
