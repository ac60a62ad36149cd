import {
  QueueKeys,
  type RedisConnection,
  RedisQueueBackend,
  Worker,
  type BackendFactory,
  type BackoffStrategy,
  type Job,
  type JobJson,
  type Processor,
} from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

import { MAX_ACTIVE_JOBS_INSPECTED } from './queue-probe';

export interface DrainWorkerOptions {
  readonly keyPrefix: string;
  readonly concurrency: number;
  readonly lockDurationMs: number;
  /** Strategy for the custom backoff types of the queue's jobs. */
  readonly backoffStrategy: BackoffStrategy;
  /**
   * Called whenever BullMQ hands over the result of a fetch for a slot's
   * token: with `true` when it brought a job. Completing a job without asking
   * for the next one also reports an empty fetch.
   */
  readonly onFetch: (token: string, fetchedJob: boolean) => void;
}

/**
 * Marks the active jobs whose lock has expired as stalled and clears the
 * stalled-check guard, so that BullMQ's own `moveStalledJobsToWait` recovers
 * them in the very next call instead of after two stalled intervals.
 */
const MARK_EXPIRED_LOCKS_SCRIPT = `
local marked = 0
for _, jobId in ipairs(redis.call("LRANGE", KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  if redis.call("EXISTS", ARGV[1] .. jobId .. ":lock") == 0 then
    redis.call("SADD", KEYS[2], jobId)
    marked = marked + 1
  end
end
if marked > 0 then
  redis.call("DEL", KEYS[3])
end
return marked
`;

const MARK_EXPIRED_LOCKS_COMMAND = 'drainMarkExpiredLocks';

type BullMqAbortController = NonNullable<Parameters<Worker['delay']>[1]>;

interface MarkExpiredLocksCommand {
  [MARK_EXPIRED_LOCKS_COMMAND](...args: (string | number)[]): Promise<number>;
}

/**
 * A BullMQ worker that one drain call drives job by job, over the call's
 * single connection and without the blocking connection that `Worker.run()`
 * needs. Jobs go through BullMQ's own `processJob`, so locks and their
 * renewal, attempts, backoff, `removeOnComplete`, job schedulers, events and
 * the abort signal behave as with a plain worker.
 */
export class DrainWorker extends Worker<unknown, unknown, string, RedisQueueBackend> {
  private readonly client: (Redis | Cluster) & Partial<MarkExpiredLocksCommand>;
  private readonly onFetch: DrainWorkerOptions['onFetch'];
  private readonly closeSignal = new AbortController();

  constructor(
    queue: string,
    processor: Processor,
    connection: RedisConnection,
    client: Redis | Cluster,
    options: DrainWorkerOptions,
  ) {
    super(
      queue,
      processor,
      {
        connection: client,
        prefix: options.keyPrefix,
        autorun: false,
        concurrency: options.concurrency,
        lockDuration: options.lockDurationMs,
        settings: { backoffStrategy: options.backoffStrategy },
        skipVersionCheck: true,
        name: 'cron-drain',
      },
      sharedConnectionBackend(connection),
    );
    this.client = client;
    this.onFetch = options.onFetch;
  }

  /**
   * Closes the worker and cuts short the retry delays that BullMQ waits
   * between attempts to record a job after a connection error.
   */
  override close(force = false): Promise<void> {
    this.closeSignal.abort();
    return super.close(force);
  }

  /**
   * BullMQ 6.7 waits `runRetryDelay` (15 s) before retrying to record a job
   * after a connection error, with an abort controller that only rate limits
   * set. A drain call that has lost its connection is over, so every such
   * wait ends when the worker closes instead of keeping the process busy.
   */
  override delay(milliseconds?: number, abortController?: BullMqAbortController): Promise<void> {
    // BullMQ types its controller with the node-abort-controller package,
    // whose API Node's own AbortController provides.
    return super.delay(milliseconds, abortController ?? (this.closeSignal as unknown as BullMqAbortController));
  }

  /** Starts renewing the locks of running jobs, which `Worker.run()` would do. */
  startLockRenewal(): void {
    this.lockManager.start();
  }

  /**
   * Moves active jobs whose lock has expired back to wait with BullMQ's
   * stalled-job script, which counts the stall and fails a job stalled more
   * than `maxStalledCount` times. Costs two commands.
   *
   * @returns the ids of the recovered jobs.
   */
  async recoverExpiredLocks(): Promise<string[]> {
    const backend = this.getBackend();
    const { active, stalled } = backend.keys;
    const stalledCheck = backend.keys['stalled-check'];
    if (active === undefined || stalled === undefined || stalledCheck === undefined) {
      throw new Error(`BullMQ did not provide the active, stalled and stalled-check keys of ${this.name}.`);
    }
    if (this.client[MARK_EXPIRED_LOCKS_COMMAND] === undefined) {
      this.client.defineCommand(MARK_EXPIRED_LOCKS_COMMAND, { numberOfKeys: 3, lua: MARK_EXPIRED_LOCKS_SCRIPT });
    }
    const marked = await (this.client as (Redis | Cluster) & MarkExpiredLocksCommand)[MARK_EXPIRED_LOCKS_COMMAND](
      active,
      stalled,
      stalledCheck,
      backend.toKey(''),
      MAX_ACTIVE_JOBS_INSPECTED,
    );
    if (marked === 0) {
      return [];
    }
    const recovered = await backend.moveStalledJobsToWait();
    for (const jobId of recovered) {
      this.emit('stalled', jobId, 'active');
    }
    return recovered;
  }

  protected override nextJobFromJobData(
    jobData?: JobJson,
    jobId?: string,
    token?: string,
  ): Promise<Job<unknown, unknown, string>> {
    this.onFetch(token ?? '', jobData !== undefined && jobData !== null);
    return super.nextJobFromJobData(jobData, jobId, token);
  }
}

/**
 * Builds BullMQ backends that share one connection and own none, so that
 * closing a worker leaves the connection to the drain call.
 */
function sharedConnectionBackend(connection: RedisConnection): BackendFactory<RedisQueueBackend> {
  return (name, opts) => {
    const queueKeys = new QueueKeys((opts as { prefix?: string }).prefix);
    return new RedisQueueBackend(
      connection,
      name,
      queueKeys.getKeys(name),
      (type) => queueKeys.toKey(name, type),
      opts,
      undefined,
      false,
    );
  };
}
