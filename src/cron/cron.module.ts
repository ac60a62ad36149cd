import { Logger, Module, type MiddlewareConsumer, type NestModule, type OnModuleInit } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';

import { AppConfig } from '../config/app-config';
import { CronMessages } from './cron.messages';
import { DrainController } from './drain.controller';
import { DrainService } from './drain.service';
import { CronTokenGuard } from './guards/cron-token.guard';
import { IpAllowlistGuard } from './guards/ip-allowlist.guard';
import { NoStoreMiddleware } from './no-store.middleware';

/** Sliding window of the drain endpoint's rate limit. */
const RATE_LIMIT_WINDOW_MS = 60_000;

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
      }),
    }),
  ],
  controllers: [DrainController],
  providers: [DrainService, CronTokenGuard, IpAllowlistGuard],
  exports: [DrainService],
})
export class CronModule implements NestModule, OnModuleInit {
  private readonly logger = new Logger(CronModule.name);

  constructor(private readonly config: AppConfig) {}

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(NoStoreMiddleware).forRoutes(DrainController);
  }

  onModuleInit(): void {
    const { token, tokenVariable } = this.config.drain;
    if (token === undefined) {
      this.logger.warn(CronMessages.noTokenConfigured);
      return;
    }
    this.logger.log(`The drain endpoint accepts the token from ${tokenVariable}.`);
  }
}
