import { BullModule } from '@nestjs/bullmq';
import { Module, type DynamicModule } from '@nestjs/common';

import type { AppConfig } from '../config/app-config';
import type { QueueName } from '../queues/queue-names';
import { workerConnectionOptions } from '../redis/redis-connections';
import { createQueueProcessor, type QueueProcessor } from './queue-processor';
import { QUEUE_PROCESSORS, WorkersLifecycle } from './workers.lifecycle';

/**
 * Always-on BullMQ workers, one `@Processor` per queue. Whether they exist is
 * decided from the validated configuration when the module is built, so the
 * API in cron mode registers no worker and holds no Redis connection. With
 * workers, the queues are registered too and can be injected with
 * `@InjectQueue(name)`.
 */
@Module({})
export class WorkersModule {
  /**
   * @param queues Queues to serve; defaults to `WORKER_QUEUES`. The API
   * process passes none when `WORKER_INPROCESS` disables in-process workers.
   */
  static forRoot(config: AppConfig, queues: readonly QueueName[] = config.workers.queues): DynamicModule {
    if (queues.length === 0) {
      return { module: WorkersModule };
    }
    const redisUrl = config.redis.url;
    if (redisUrl === undefined) {
      // loadAppConfig already rejects this combination with a clearer message.
      throw new Error('Always-on workers need REDIS_URL.');
    }

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
        BullModule.forRoot({ connection: workerConnectionOptions(redisUrl), prefix: config.redis.keyPrefix }),
        // Registering the queues also brings @nestjs/bullmq's explorer, which
        // creates the workers, and lets other modules inject the queues.
        BullModule.registerQueue(...queues.map((name) => ({ name }))),
      ],
      providers: [
        ...processors,
        {
          provide: QUEUE_PROCESSORS,
          inject: processors,
          useFactory: (...instances: QueueProcessor[]) => instances,
        },
        WorkersLifecycle,
      ],
    };
  }
}
