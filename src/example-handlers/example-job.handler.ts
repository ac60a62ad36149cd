import { setTimeout as sleep } from 'node:timers/promises';

import { UnrecoverableError, type Job } from 'bullmq';

import type { QueueJobHandler } from '../queues/job-handler.interface';

/** Job data that the example handlers understand. */
export interface ExampleJobData {
  /** Milliseconds of simulated work. Default 0. */
  workMs?: number;
  /** Throw an error instead of returning a result. Default false. */
  fail?: boolean;
}

export interface ExampleJobResult {
  queue: string;
  jobId: string | undefined;
  workedMs: number;
  completedAt: string;
}

/** Maximum simulated work; longer `workMs` values are rejected as invalid data. */
const MAX_WORK_MS = 3_600_000;

/**
 * Example handler that simulates work, so that the reference application runs
 * without a domain. A backend replaces it with its own handlers.
 *
 * It waits `workMs` milliseconds, stopping early when its abort signal fires,
 * throws when `fail` is true, and otherwise returns a small result.
 */
export class ExampleJobHandler implements QueueJobHandler<ExampleJobData, ExampleJobResult> {
  async handle(job: Job<ExampleJobData, ExampleJobResult>, signal: AbortSignal): Promise<ExampleJobResult> {
    const { workMs, fail } = readExampleData(job);
    if (workMs > 0) {
      await sleep(workMs, undefined, { signal });
    }
    if (fail) {
      throw new Error(`Example job ${job.id} of ${job.queueName} failed on purpose because its data has fail: true.`);
    }
    return { queue: job.queueName, jobId: job.id, workedMs: workMs, completedAt: new Date().toISOString() };
  }
}

/**
 * Reads and checks the job data. Invalid data fails the job without retries,
 * because retrying cannot fix it.
 */
function readExampleData(job: Job<ExampleJobData>): Required<ExampleJobData> {
  const data: unknown = job.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UnrecoverableError(
      `Job ${job.id} has invalid data: expected an object such as { "workMs": 100, "fail": false }.`,
    );
  }
  const { workMs = 0, fail = false } = data as ExampleJobData;
  if (typeof workMs !== 'number' || !Number.isFinite(workMs) || workMs < 0 || workMs > MAX_WORK_MS) {
    throw new UnrecoverableError(`Job ${job.id} has invalid data: workMs must be a number from 0 to ${MAX_WORK_MS}.`);
  }
  if (typeof fail !== 'boolean') {
    throw new UnrecoverableError(`Job ${job.id} has invalid data: fail must be true or false.`);
  }
  return { workMs, fail };
}
