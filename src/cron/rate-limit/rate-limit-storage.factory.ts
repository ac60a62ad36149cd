import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

import type { AppConfig } from '../../config/app-config';
import { InMemorySlidingWindowStorage } from './in-memory-sliding-window.storage';
import { RedisSlidingWindowStorage } from './redis-sliding-window.storage';

/** Creates the storage that `DRAIN_RATE_LIMIT_STORE` selects. */
export function createRateLimitStorage(config: AppConfig): ThrottlerStorage & OnApplicationShutdown {
  const store = config.drain.rateLimitStore;
  switch (store) {
    case 'memory':
      return new InMemorySlidingWindowStorage();
    case 'redis':
      if (config.redis.url === undefined) {
        // The configuration loader rejects this combination at start-up.
        throw new Error('DRAIN_RATE_LIMIT_STORE=redis requires REDIS_URL.');
      }
      return new RedisSlidingWindowStorage(
        { url: config.redis.url, cluster: config.redis.cluster },
        config.redis.keyPrefix,
      );
  }
}
