/**
 * Messages that the drain endpoint sends to callers. They name what is wrong
 * and what to do, and never contain a token or the Redis URL.
 */
export const CronMessages = {
  invalidToken:
    'Missing or invalid drain token. Send the token in the X-Cron-Secret or X-Cron-Token header, or as Authorization: Bearer <token>.',
  addressNotAllowed: (address: string) =>
    `Client address ${address} is not allowed to call this endpoint. Add it to CRON_ALLOWED_IPS, or call from an allowed address.`,
  unknownAddress:
    'The client address of this request could not be determined, so CRON_ALLOWED_IPS cannot allow it. Check TRUST_PROXY.',
  redisUnavailable: 'Redis is unavailable, so no job was processed. Retry later.',
  noTokenConfigured:
    'No drain token is configured: set DRAIN_QUEUES_TOKEN (or CRON_SECRET or CRON_TOKEN). Until then the drain endpoint rejects every request with 401.',
} as const;

/** Seconds after which a caller may retry a call that failed because Redis was unavailable. */
export const REDIS_UNAVAILABLE_RETRY_AFTER_SECONDS = 30;
