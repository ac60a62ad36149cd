import { Module, type DynamicModule } from '@nestjs/common';

import type { AppConfig } from '../config/app-config';
import { AppConfigModule } from '../config/app-config.module';
import { JobHandlersModule } from '../job-handlers.module';
import { LifecycleModule } from '../lifecycle/shutdown-coordinator';
import { QueuesModule } from '../queues/queues.module';
import { WorkersModule } from './workers.module';

/**
 * The standalone worker process: always-on workers for `WORKER_QUEUES`, no
 * HTTP server and no drain endpoint. It runs from the same image as the API
 * (`node dist/worker.js`), for deployments where the API drains the light
 * queues by cron and this process serves the heavy ones.
 */
@Module({})
export class StandaloneWorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: StandaloneWorkerModule,
      imports: [
        AppConfigModule.forRoot(config),
        LifecycleModule,
        QueuesModule,
        WorkersModule.forRoot(config, config.workers.queues, 'standalone'),
        JobHandlersModule,
      ],
    };
  }
}
