import { Injectable, Logger } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';

import { AppConfig } from '../config/app-config';
import { connectionFailure, createDrainClient } from '../redis/redis-connections';

/** Time allowed for connecting to Redis and receiving PONG. */
const READY_CHECK_TIMEOUT_MS = 3_000;

/**
 * Checks that Redis responds to PING, at the cost of one command: a
 * short-lived connection with the drain's trimmed handshake sends PING and
 * disconnects without QUIT. A URL with a password adds AUTH, one naming a database other
 * than 0 adds SELECT. On a Redis Cluster the connection also reads the slot
 * map, which adds CLIENT SETNAME and CLUSTER SLOTS. A result is reused for `HEALTH_READY_CACHE_MS`, so that
 * frequent polling does not add commands, and concurrent checks share one
 * PING.
 */
@Injectable()
export class RedisHealthIndicator {
  private readonly logger = new Logger(RedisHealthIndicator.name);

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly config: AppConfig,
  ) {}

  async isReady(key = 'redis'): Promise<HealthIndicatorResult<string>> {
    const url = this.config.redis.url;
    if (url === undefined) {
      return this.health.check(key).down('REDIS_URL is not configured.');
    }
    return this.health
      .check(key)
      .attempt(() => this.ping(url))
      .withTimeout(READY_CHECK_TIMEOUT_MS)
      .cacheFor(this.config.health.readyCacheMs);
  }

  private async ping(url: string): Promise<void> {
    const client = createDrainClient({ url, cluster: this.config.redis.cluster }, READY_CHECK_TIMEOUT_MS);
    // ioredis rejects a failed connect() with "Connection is closed.", while
    // the 'error' event before it names the cause, such as WRONGPASS.
    let connectionError: unknown;
    client.on('error', (error: Error) => {
      connectionError ??= error;
    });
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      // The cause stays in the server log: the readiness body is public and
      // must not reveal the Redis host.
      this.logger.warn(
        `Readiness check failed: Redis did not respond to PING: ${connectionFailure(client, connectionError ?? error)}`,
      );
      throw new Error('Redis did not respond to PING.', { cause: error });
    } finally {
      client.disconnect();
    }
  }
}
