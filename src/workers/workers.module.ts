import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';

import type { AppConfig } from '../config/app-config';
import type { QueueName } from '../queues/queue-names';
import { workerConnection } from '../redis/redis-connections';
import { createQueueProcessor, type QueueProcessor } from './queue-processor';
import { WORKERS_CONNECTION, WorkersConnection } from './workers-connection';
import { QUEUE_PROCESSORS, WORKERS_HOST, WorkersLifecycle, type WorkersHost } from './workers.lifecycle';

/**
 * Always-on BullMQ workers, one `@Processor` per queue. Whether they exist is
 * decided from the validated configuration when the module is built, so the
 * API in cron mode registers no worker and holds no Redis connection.
 */
@Module({})
export class WorkersModule {
  /**
   * @param queues Queues to serve; defaults to `WORKER_QUEUES`. The API
   * process passes none when `WORKER_INPROCESS` disables in-process workers.
   * @param host `api` when the process also serves the drain endpoint, which
   * enables the start-up warning about queues that both consume.
   */
  static forRoot(
    config: AppConfig,
    queues: readonly QueueName[] = config.workers.queues,
    host: WorkersHost = 'api',
  ): DynamicModule {
    if (queues.length === 0) {
      return { module: WorkersModule };
    }
    const redisUrl = config.redis.url;
    if (redisUrl === undefined) {
      // loadAppConfig and the standalone worker reject this earlier with a clearer message.
      throw new Error('Always-on workers need REDIS_URL.');
    }

    const connection = workerConnection({ url: redisUrl, cluster: config.redis.cluster });
    const processors = queues.map((queue) =>
      createQueueProcessor(queue, {
        autorun: false,
        concurrency: config.queues.concurrency[queue],
        lockDuration: config.queues.lockDurationMs,
        drainDelay: config.workers.drainDelaySeconds,
        stalledInterval: config.workers.stalledIntervalMs,
        name: 'always-on',
      }),
    );
    return {
      module: WorkersModule,
      imports: [
        BullModule.forRoot({ connection, prefix: config.redis.keyPrefix }),
        // Without queue names this only imports the explorer that creates the
        // workers of the @Processor classes from the shared options above. No
        // Queue instance is created, so the workers' connections are the only
        // ones this module opens.
        BullModule.registerQueue(),
      ],
      providers: [
        ...processors,
        {
          provide: QUEUE_PROCESSORS,
          inject: processors,
          useFactory: (...instances: QueueProcessor[]) => instances,
        },
        { provide: WORKERS_HOST, useValue: host },
        { provide: WORKERS_CONNECTION, useValue: connection },
        WorkersLifecycle,
        WorkersConnection,
      ],
    };
  }
}
