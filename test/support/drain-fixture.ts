import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import request from 'supertest';

import type { DrainResult } from '../../src/cron/drain-result';
import { QUEUE_NAMES, type QueueName } from '../../src/queues/queue-names';
import { TestQueues } from './queues';
import { HandlerLog, RecordingHandlersModule } from './recording-handlers';
import { createTestApp, TEST_TOKEN, type TestApp } from './test-app';
import { uniquePrefix } from './test-redis';

export const DRAIN_PATH = '/api/v1/cron/drain-queues';

export interface DrainFixtureOptions {
  /** Environment on top of the test defaults (cron mode, a unique key prefix). */
  readonly env?: Record<string, string | undefined>;
  /** Queues that get a recording handler, while the others get none. Default: all five. */
  readonly handledQueues?: readonly QueueName[];
}

/**
 * The reference application in cron mode with recording handlers, a unique
 * key prefix, producers for its queues and a plain client for inspecting
 * the keys that BullMQ writes.
 */
export class DrainFixture {
  private constructor(
    readonly redisUrl: string,
    readonly testApp: TestApp,
    readonly queues: TestQueues,
    readonly log: HandlerLog,
    readonly redis: Redis,
  ) {}

  static async start(redisUrl: string, options: DrainFixtureOptions = {}): Promise<DrainFixture> {
    const prefix = uniquePrefix();
    const testApp = await createTestApp(
      { REDIS_URL: redisUrl, QUEUE_KEY_PREFIX: prefix, ...options.env },
      { handlers: RecordingHandlersModule.forQueues(options.handledQueues ?? QUEUE_NAMES) },
    );
    return new DrainFixture(
      redisUrl,
      testApp,
      new TestQueues(redisUrl, prefix),
      testApp.app.get(HandlerLog),
      new Redis(redisUrl, { lazyConnect: true }),
    );
  }

  get prefix(): string {
    return this.queues.prefix;
  }

  /** Sends an authenticated drain request and expects 200. */
  async drain(query: Record<string, string | number> = {}): Promise<DrainResult> {
    const response = await request(this.testApp.app.getHttpServer())
      .post(DRAIN_PATH)
      .query(query)
      .set('Authorization', `Bearer ${TEST_TOKEN}`)
      .expect(200);
    return response.body as DrainResult;
  }

  /** Reads a field of a job's hash, such as `stc` (stalled count) or `returnvalue`. */
  jobField(queue: QueueName, jobId: string, field: string): Promise<string | null> {
    return this.redis.hget(`${this.prefix}:${queue}:${jobId}`, field);
  }

  async hasLock(queue: QueueName, jobId: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:${queue}:${jobId}:lock`)) === 1;
  }

  /** Events of a job in the queue's event stream, such as `completed` or `stalled`. */
  async jobEvents(queue: QueueName, jobId: string): Promise<string[]> {
    const entries = await this.redis.xrange(`${this.prefix}:${queue}:events`, '-', '+');
    return entries
      .map(([, fields]) => Object.fromEntries(pairs(fields)))
      .filter((event) => event.jobId === jobId)
      .map((event) => event.event ?? '');
  }

  /**
   * Leaves a waiting job active with an expired lock, as a consumer that
   * crashed would: a plain BullMQ worker takes it, its lock is deleted as if
   * it had expired, and the worker disconnects without finishing it.
   */
  async abandonNextJob(queue: QueueName): Promise<string> {
    const worker = new Worker(queue, null, {
      connection: { url: this.redisUrl, maxRetriesPerRequest: null },
      prefix: this.prefix,
      autorun: false,
    });
    try {
      const job = await worker.getNextJob('crashed-consumer', { block: false });
      if (job?.id === undefined) {
        throw new Error(`No waiting job in ${queue} to abandon.`);
      }
      await this.redis.del(`${this.prefix}:${queue}:${job.id}:lock`);
      return job.id;
    } finally {
      await worker.close(true);
    }
  }

  async close(): Promise<void> {
    this.log.releaseAll();
    await this.queues.close();
    await this.testApp.close();
    this.redis.disconnect();
  }
}

function pairs(fields: string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let index = 0; index + 1 < fields.length; index += 2) {
    result.push([fields[index]!, fields[index + 1]!]);
  }
  return result;
}
