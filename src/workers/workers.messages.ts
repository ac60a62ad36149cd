import type { QueueName } from '../queues/queue-names';

/** Messages of the always-on workers and the standalone worker process. */
export const WorkersMessages = {
  standaloneNeedsRedisUrl:
    'REDIS_URL is required by the standalone worker. Set REDIS_URL to a redis:// or rediss:// URL.',
  inProcessIgnored:
    'WORKER_INPROCESS=0 switches off the in-process workers of the API only; this standalone worker serves WORKER_QUEUES regardless.',
  queuesConsumedTwice: (queues: readonly QueueName[]) =>
    `Both the in-process workers and drain calls without a queue parameter consume ${queues.join(', ')}. ` +
    'That is safe but costs Redis commands for nothing. Set DRAIN_DEFAULT_QUEUES to the queues without an always-on worker, ' +
    'or set WORKER_INPROCESS=0 when a standalone worker serves WORKER_QUEUES.',
  noWorkerStarted: 'No always-on worker started: no queue has a handler.',
  workersStarted: (summary: string) => `Always-on workers started for ${summary}.`,
  putBack: (count: number, queue: string) => `Putting ${count} running job(s) of ${queue} back in the queue.`,
  closeTimedOut: (timeoutMs: number) =>
    `The always-on workers did not close within ${timeoutMs} ms, so their connections were dropped. A job whose result could not be saved stays active until its lock expires and is then run again.`,
  closeFailed: (timeoutMs: number) =>
    `The always-on workers still had not closed ${timeoutMs} ms after their connections were dropped. Shutdown continues and may end at its deadline with exit code 1.`,
} as const;
