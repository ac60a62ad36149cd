/**
 * Thrown by the Redis rate-limit storage when Redis does not respond. The
 * request is rejected with 503: the rate limit fails closed.
 */
export class RateLimitStoreUnavailableError extends Error {
  constructor(readonly reason: string) {
    super(`The rate-limit window in Redis is unavailable: ${reason}`);
    this.name = RateLimitStoreUnavailableError.name;
  }
}
