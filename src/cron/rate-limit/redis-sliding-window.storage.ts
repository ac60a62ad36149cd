import { randomUUID } from 'node:crypto';

import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

import { clusterNodeCredentials, clusterSeed, type RedisEndpoint } from '../../redis/redis-connections';

import { CronMessages } from '../cron.messages';
import { RateLimitStoreUnavailableError } from './rate-limit.errors';
import { toThrottlerRecord, type ThrottlerStorageRecord } from './sliding-window';

/** Time in ms that one rate-limit check may take before the request is rejected with 503. */
const REDIS_TIMEOUT_MS = 1_000;

/** Number of cached blocks above which expired ones are removed on the next write. */
const BLOCK_CACHE_SWEEP_SIZE = 10_000;

/**
 * Sliding-window check in one round trip. KEYS[1] is a sorted set of the
 * client's accepted hits scored by time in ms. ARGV: window in ms, limit, a
 * unique member suffix, and optionally the current time in ms. Without it the
 * Redis server's clock is used, so that replicas with skewed clocks still
 * share one window. Returns the hits in the window, 1 when the request is
 * blocked, and the ms until the oldest hit leaves the window.
 */
const SLIDING_WINDOW_SCRIPT = `
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local now = tonumber(ARGV[4])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local hits = redis.call('ZCARD', KEYS[1])
local blocked = 1
if hits < limit then
  redis.call('ZADD', KEYS[1], now, now .. '-' .. ARGV[3])
  hits = hits + 1
  blocked = 0
end
redis.call('PEXPIRE', KEYS[1], window)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local untilSlotFrees = 0
if oldest[2] then
  untilSlotFrees = tonumber(oldest[2]) + window - now
end
return { hits, blocked, untilSlotFrees }
`;

/**
 * A `ThrottlerStorage` that keeps the sliding window in Redis, so that every
 * replica of the API counts against one window per client.
 *
 * Cost: one EVAL per request and nothing between requests. A client that
 * Redis reports as blocked stays blocked in this process until its next slot
 * frees, without another command. The block is exact, because a window contains
 * only accepted requests, so a full window cannot free a slot before its
 * oldest hit leaves. The connection is opened at the first request with a
 * trimmed handshake (RESP2, no ready check, no CLIENT SETINFO), kept open,
 * and re-opened in the background after a loss. While Redis does not respond within 1 s, `increment` throws
 * `RateLimitStoreUnavailableError` and the request is rejected with 503. On a
 * Redis Cluster, opening the connection also reads the slot map, and each
 * request goes to the node of its key's slot.
 */
export class RedisSlidingWindowStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly logger = new Logger(RedisSlidingWindowStorage.name);
  private readonly client: Redis | Cluster;
  /** Local time in ms until which each blocked key stays blocked. */
  private readonly blockedUntil = new Map<string, number>();
  private firstConnection: Promise<void> | undefined;
  private isAvailable = true;

  /**
   * @param endpoint Redis to use; a plain URL names one server.
   * @param keyPrefix Prefix of the keys, followed by `:drain-rate-limit:`.
   * @param clock Clock in ms sent to the script and used for the local block
   * cache; tests set it. By default the script uses the Redis server's clock,
   * so that replicas with skewed clocks share one window.
   */
  constructor(
    endpoint: RedisEndpoint | string,
    private readonly keyPrefix: string,
    private readonly clock?: () => number,
  ) {
    this.client = createRateLimitClient(typeof endpoint === 'string' ? { url: endpoint, cluster: false } : endpoint);
    // Failures surface through the rejected commands and are logged there;
    // without a listener ioredis would print every reconnection error.
    this.client.on('error', () => undefined);
  }

  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const cachedBlock = this.cachedBlock(key);
    if (cachedBlock !== undefined) {
      return toThrottlerRecord(limit, true, cachedBlock);
    }
    try {
      await this.connect();
      const reply = await this.client.eval(
        SLIDING_WINDOW_SCRIPT,
        1,
        `${this.keyPrefix}:drain-rate-limit:${key}`,
        ttl,
        limit,
        randomUUID(),
        this.clock === undefined ? '' : this.clock(),
      );
      const [hits, blocked, msUntilSlotFrees] = parseReply(reply);
      this.markAvailable();
      if (blocked === 1) {
        this.cacheBlock(key, msUntilSlotFrees);
      }
      return toThrottlerRecord(hits, blocked === 1, msUntilSlotFrees);
    } catch (error) {
      // Without its final period, because the messages put it in brackets.
      const reason = (error instanceof Error ? error.message : String(error)).replace(/\.$/, '');
      this.markUnavailable(reason);
      throw new RateLimitStoreUnavailableError(reason);
    }
  }

  onApplicationShutdown(): void {
    // disconnect() rather than quit(): QUIT would be one more billed command.
    this.client.disconnect();
    this.blockedUntil.clear();
  }

  /** Returns the ms until the key's cached block ends, or `undefined` when it is not blocked. */
  private cachedBlock(key: string): number | undefined {
    const until = this.blockedUntil.get(key);
    if (until === undefined) {
      return undefined;
    }
    const remainingMs = until - this.localNow();
    if (remainingMs <= 0) {
      this.blockedUntil.delete(key);
      return undefined;
    }
    return remainingMs;
  }

  private cacheBlock(key: string, durationMs: number): void {
    const now = this.localNow();
    if (this.blockedUntil.size >= BLOCK_CACHE_SWEEP_SIZE) {
      for (const [blockedKey, until] of this.blockedUntil) {
        if (until <= now) {
          this.blockedUntil.delete(blockedKey);
        }
      }
    }
    this.blockedUntil.set(key, now + durationMs);
  }

  private localNow(): number {
    return this.clock === undefined ? Date.now() : this.clock();
  }

  private async connect(): Promise<void> {
    if (this.client.status === 'ready') {
      return;
    }
    // After the first attempt ioredis reconnects by itself; until it has,
    // commands fail at once because the offline queue is disabled.
    this.firstConnection ??= this.client.connect();
    await this.firstConnection;
  }

  private markAvailable(): void {
    if (!this.isAvailable) {
      this.isAvailable = true;
      this.logger.log(CronMessages.rateLimitStoreRecovered);
    }
  }

  private markUnavailable(reason: string): void {
    if (this.isAvailable) {
      this.isAvailable = false;
      this.logger.warn(CronMessages.rateLimitStoreLost(reason));
    }
  }
}

function createRateLimitClient(endpoint: RedisEndpoint): Redis | Cluster {
  if (!endpoint.cluster) {
    return new Redis(endpoint.url, rateLimitClientOptions());
  }
  // The cluster reconnects in the background with the ioredis default back-off,
  // as the single-server client does. Its nodes never reconnect by themselves,
  // and they queue commands until their socket is open, because a node connects
  // on its first command.
  return new Cluster([clusterSeed(endpoint.url)], {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    slotsRefreshTimeout: REDIS_TIMEOUT_MS,
    redisOptions: { ...rateLimitNodeOptions(), ...clusterNodeCredentials(endpoint.url) },
  });
}

function rateLimitClientOptions(): RedisOptions {
  return {
    lazyConnect: true,
    ...rateLimitNodeOptions(),
    maintNotifications: 'disabled',
    enableOfflineQueue: false,
  };
}

/** Returns the options of `rateLimitClientOptions` that also apply to each node of a cluster. */
function rateLimitNodeOptions() {
  return {
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: REDIS_TIMEOUT_MS,
    commandTimeout: REDIS_TIMEOUT_MS,
  } satisfies RedisOptions;
}

function parseReply(reply: unknown): [number, number, number] {
  if (Array.isArray(reply) && reply.length === 3 && reply.every((value) => typeof value === 'number')) {
    return reply as [number, number, number];
  }
  throw new Error('unexpected reply from the sliding-window script');
}
