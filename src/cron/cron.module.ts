import { Logger, Module, type MiddlewareConsumer, type NestModule, type OnModuleInit } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';

import { AppConfig, PREVIOUS_TOKEN_VARIABLE } from '../config/app-config';
import { CronMessages } from './cron.messages';
import { DrainController } from './drain.controller';
import { DrainService } from './drain.service';
import { ClientAddressResolver } from './guards/client-address.resolver';
import { CronTokenGuard } from './guards/cron-token.guard';
import { IpAllowlistGuard } from './guards/ip-allowlist.guard';
import { NoStoreMiddleware } from './no-store.middleware';
import { RejectHeadMiddleware } from './reject-head.middleware';
import { DrainThrottlerGuard } from './rate-limit/drain-throttler.guard';
import { createRateLimitStorage } from './rate-limit/rate-limit-storage.factory';

/** Sliding window of the drain endpoint's rate limit. */
const RATE_LIMIT_WINDOW_MS = 60_000;

/** Below this length the start-up log warns that the drain token is easy to guess. */
const MIN_RECOMMENDED_TOKEN_LENGTH = 32;

/**
 * The drain endpoint and `DrainService`, which other modules may inject to
 * drain queues without HTTP. Needs `AppConfig` and the `QueuesModule`.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ ttl: RATE_LIMIT_WINDOW_MS, limit: config.drain.rateLimitPerMinute }],
        storage: createRateLimitStorage(config),
      }),
    }),
  ],
  controllers: [DrainController],
  providers: [DrainService, ClientAddressResolver, DrainThrottlerGuard, CronTokenGuard, IpAllowlistGuard],
  exports: [DrainService],
})
export class CronModule implements NestModule, OnModuleInit {
  private readonly logger = new Logger(CronModule.name);

  constructor(private readonly config: AppConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(NoStoreMiddleware, RejectHeadMiddleware).forRoutes(DrainController);
  }

  onModuleInit(): void {
    if (this.config.redis.url === undefined) {
      this.logger.warn(CronMessages.noRedisConfigured);
    }
    const { token, tokenVariable, previousToken } = this.config.drain;
    if (token === undefined || tokenVariable === undefined) {
      this.logger.warn(CronMessages.noTokenConfigured);
      return;
    }
    this.logger.log(CronMessages.tokenSource(tokenVariable));
    if (previousToken !== undefined) {
      this.logger.log(CronMessages.previousTokenAccepted(PREVIOUS_TOKEN_VARIABLE));
    }
    if (token.length < MIN_RECOMMENDED_TOKEN_LENGTH) {
      this.logger.warn(CronMessages.shortToken(tokenVariable, MIN_RECOMMENDED_TOKEN_LENGTH));
    }
  }
}
