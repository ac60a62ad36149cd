import {
  Logger,
  Module,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type OnModuleInit,
} from '@nestjs/common';

import { AppConfig } from '../../config/app-config';
import { DrainController } from '../../cron/drain.controller';
import { DrainMetrics } from './drain-metrics';
import { DrainResponsesMiddleware } from './drain-responses.middleware';
import { MetricsController } from './metrics.controller';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * Prometheus metrics at `GET /api/v1/metrics`, registered only when
 * `METRICS_ENABLED` is on. `DrainService` records its calls through the
 * global `DrainMetrics` when it exists.
 */
@Module({})
export class MetricsModule implements NestModule, OnModuleInit {
  constructor(private readonly config: AppConfig) {}

  static forRoot(config: AppConfig): DynamicModule {
    if (!config.metrics.enabled) {
      return { module: MetricsModule };
    }
    return {
      module: MetricsModule,
      global: true,
      controllers: [MetricsController],
      providers: [DrainMetrics, MetricsTokenGuard],
      exports: [DrainMetrics],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    if (this.config.metrics.enabled) {
      consumer.apply(DrainResponsesMiddleware).forRoutes(DrainController);
    }
  }

  onModuleInit(): void {
    if (this.config.metrics.enabled && this.config.metrics.token === undefined) {
      new Logger(MetricsModule.name).warn(
        'The metrics endpoint /api/v1/metrics is open: set METRICS_TOKEN, or keep it unreachable from outside.',
      );
    }
  }
}
