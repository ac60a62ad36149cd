import { QueueEvents, type Job } from 'bullmq';
import type { Cluster } from 'ioredis';

import type { QueueName } from '../../src/queues/queue-names';
import type { TestQueues } from './queues';

type JobEventName = 'active' | 'completed' | 'failed' | 'waiting' | 'stalled';

/**
 * BullMQ's event stream of one queue, read from its beginning. Tests use a
 * key prefix of their own, so every event in the stream belongs to the test,
 * and reading from the start cannot miss an event that came before the
 * listener was ready.
 */
export class JobEvents {
  private readonly seen: { event: JobEventName; jobId: string }[] = [];
  private readonly waiters: { event: JobEventName; jobId: string; resolve: () => void }[] = [];

  private constructor(private readonly events: QueueEvents) {
    for (const event of ['active', 'completed', 'failed', 'waiting', 'stalled'] as const) {
      events.on(event, ({ jobId }: { jobId: string }) => this.record(event, jobId));
    }
    // Fault tests stop Redis on purpose; QueueEvents reconnects by itself,
    // and without a listener BullMQ prints each connection error.
    events.on('error', () => undefined);
  }

  /** @param redis URL of a server, or a Redis Cluster client that BullMQ copies and the caller closes. */
  static async start(redis: string | Cluster, prefix: string, queue: QueueName): Promise<JobEvents> {
    const events = new QueueEvents(queue, {
      connection: typeof redis === 'string' ? { url: redis, maxRetriesPerRequest: null } : redis,
      prefix,
      lastEventId: '0-0',
    });
    const jobEvents = new JobEvents(events);
    await events.waitUntilReady();
    return jobEvents;
  }

  /** Resolves once the job has had the event, now or earlier. */
  waitFor(event: JobEventName, job: Job | string): Promise<void> {
    const jobId = typeof job === 'string' ? job : job.id!;
    if (this.seen.some((entry) => entry.event === event && entry.jobId === jobId)) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push({ event, jobId, resolve }));
  }

  /** How many times each job had the event so far. */
  count(event: JobEventName): Map<string, number> {
    const counts = new Map<string, number>();
    for (const entry of this.seen.filter((candidate) => candidate.event === event)) {
      counts.set(entry.jobId, (counts.get(entry.jobId) ?? 0) + 1);
    }
    return counts;
  }

  async close(): Promise<void> {
    await this.events.close();
  }

  private record(event: JobEventName, jobId: string): void {
    this.seen.push({ event, jobId });
    for (const waiter of [...this.waiters]) {
      if (waiter.event === event && waiter.jobId === jobId) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }
}

/**
 * Adds a job to `queue` and resolves with it once BullMQ reports it
 * completed, as a test of always-on workers expects.
 */
export async function addAndAwaitCompletion(
  redis: string | Cluster,
  queues: TestQueues,
  queue: QueueName,
): Promise<Job> {
  const events = await JobEvents.start(redis, queues.prefix, queue);
  try {
    const job = await queues.get(queue).add('new', { workMs: 0 });
    await events.waitFor('completed', job);
    return job;
  } finally {
    await events.close();
  }
}
