/**
 * Messages that the drain endpoint sends to callers and writes to its log.
 * They name what is wrong and what to do, and never contain a token or the
 * Redis URL.
 */
export const CronMessages = {
  invalidToken:
    'Missing or invalid drain token. Send the token in the X-Cron-Secret or X-Cron-Token header, or as Authorization: Bearer <token>.',
  addressNotAllowed: (address: string) =>
    `Client address ${address} is not allowed to call this endpoint. Call from an address in CRON_ALLOWED_IPS, or add this one. If ${address} is not the caller's address, the proxy in front of the API is not trusted: check TRUST_PROXY.`,
  unknownAddress:
    'The client address of this request is not a valid IP address, so CRON_ALLOWED_IPS cannot allow it. Check the X-Forwarded-For header that the proxy sends, and TRUST_PROXY.',
  rateLimited: (limit: number, retryAfterSeconds: number) =>
    `Too many drain requests from this client: at most ${limit} are accepted in any 60 seconds. Retry after ${retryAfterSeconds} seconds, or call less often.`,
  rateLimitStoreUnavailable:
    'The rate-limit window in Redis is unavailable, so the request was rejected and no job was processed. Retry later.',
  redisUnavailable: 'Redis is unavailable, so no job was processed. Retry later.',
  redisLostDuringCall:
    'The connection to Redis was lost during the call. Jobs completed before that stay completed, and the others run in a later call. Retry later.',
  noTokenConfigured:
    'No drain token is configured: set DRAIN_QUEUES_TOKEN (or CRON_SECRET or CRON_TOKEN). Until then the drain endpoint rejects every request with 401.',
  noRedisConfigured:
    'REDIS_URL is not set: the drain endpoint answers 500 and readiness reports Redis as down. Set REDIS_URL to a redis:// or rediss:// URL and restart the process.',
  tokenSource: (variable: string) => `The drain endpoint accepts the token from ${variable}.`,
  previousTokenAccepted: (variable: string) =>
    `${variable} is set, so the drain endpoint also accepts the previous token. Remove it once every scheduler sends the new token.`,
  shortToken: (variable: string, minLength: number) =>
    `The drain token in ${variable} is shorter than ${minLength} characters. Use a random token such as the output of "openssl rand -hex 32".`,
  rateLimitStoreLost: (reason: string) =>
    `The rate-limit window in Redis is unavailable (${reason}). Drain requests are rejected with 503 until Redis answers again.`,
  rateLimitStoreRecovered: 'The rate-limit window in Redis is available again.',
} as const;

/** Seconds after which a caller may retry a call that failed because Redis was unavailable. */
export const REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS = 30;
