import { Module, type DynamicModule } from '@nestjs/common';

import type { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/app-config.module';
import { CronModule } from './cron/cron.module';
import { HealthModule } from './health/health.module';
import { JobHandlersModule } from './job-handlers.module';
import { LifecycleModule } from './lifecycle/shutdown-coordinator';
import { MetricsModule } from './observability/metrics/metrics.module';
import { QueuesModule } from './queues/queues.module';
import { WorkersModule } from './workers/workers.module';

/**
 * The API process of the reference backend: the drain endpoint, and the
 * always-on workers when `WORKER_INPROCESS` enables them.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config),
        LifecycleModule,
        QueuesModule,
        CronModule,
        HealthModule,
        MetricsModule.forRoot(config),
        WorkersModule.forRoot(config, config.workers.inProcess ? config.workers.queues : []),
        JobHandlersModule,
      ],
    };
  }
}
