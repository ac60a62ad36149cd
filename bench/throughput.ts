/**
 * Drain throughput against a plain BullMQ Worker at the same concurrency, on
 * the same Redis and the same jobs, side by side in alternating rounds, and
 * the time from the request (or the worker's creation) to the first job.
 *
 * Usage: npm run bench:throughput. BENCH_ROUNDS sets the rounds per case
 * (default 9). BENCH_CASES runs only the named cases and writes no results.
 */
import { Queue, Worker, type Job } from 'bullmq';

import type { QueueName } from '../src/queues/queue-names';
import {
  HandlerLog,
  RecordingHandler,
  type HandlerCall,
  type RecordedJobData,
} from '../test/support/recording-handlers';
import { RedisServer } from '../test/support/redis-server';
import { BenchApp } from './support/bench-app';
import { writeResult } from './support/results';
import { summarize, type Summary } from './support/stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
/** Comma-separated case names to run, for example `noWorkConcurrency1`; default: all. */
const ONLY_CASES = process.env.BENCH_CASES?.split(',');
const QUEUE: QueueName = 'batch-jobs';

interface Case {
  readonly name: string;
  readonly concurrency: number;
  readonly workMs: number;
  readonly jobs: number;
}

const CASES: readonly Case[] = [
  { name: 'noWorkConcurrency1', concurrency: 1, workMs: 0, jobs: 2_000 },
  { name: 'noWorkConcurrency10', concurrency: 10, workMs: 0, jobs: 2_000 },
  { name: 'work10msConcurrency1', concurrency: 1, workMs: 10, jobs: 200 },
  { name: 'work10msConcurrency10', concurrency: 10, workMs: 10, jobs: 2_000 },
];

/** One timed run, in milliseconds from the request or the worker's creation. */
interface Run {
  readonly firstJobMs: number;
  readonly totalMs: number;
  /** From the first job's start to the last job's end. */
  readonly processingMs: number;
}

interface CaseReport {
  readonly jobs: number;
  readonly concurrency: number;
  readonly workMs: number;
  readonly drain: ContenderReport;
  readonly worker: ContenderReport;
  /**
   * Drain jobs per second divided by worker jobs per second, per round. A
   * round's two runs follow each other, so a slow period of the machine
   * tends to affect both and the ratio less than either.
   */
  readonly throughputRatios: Summary;
  readonly processingThroughputRatios: Summary;
}

interface ContenderReport {
  readonly jobsPerSecond: Summary;
  readonly processingJobsPerSecond: Summary;
  readonly firstJobMs: Summary;
}

let prefixCounter = 0;

async function main(): Promise<void> {
  const server = await RedisServer.start();
  try {
    const cases: Record<string, CaseReport> = {};
    for (const benchCase of CASES.filter((entry) => ONLY_CASES?.includes(entry.name) ?? true)) {
      cases[benchCase.name] = await measureCase(server.url, benchCase);
      console.log(benchCase.name, JSON.stringify(cases[benchCase.name]));
    }
    if (ONLY_CASES !== undefined) {
      console.log('BENCH_CASES is set, so the results file stays as it is.');
      return;
    }
    const path = await writeResult('throughput', { rounds: ROUNDS, cases });
    console.log(`Wrote ${path}`);
  } finally {
    await server.stop();
  }
}

async function measureCase(url: string, benchCase: Case): Promise<CaseReport> {
  const drainRuns: Run[] = [];
  const workerRuns: Run[] = [];
  for (let index = 0; index < ROUNDS; index += 1) {
    // Alternating the order keeps a warm-up or a slow period from favouring one side.
    if (index % 2 === 0) {
      drainRuns.push(await runDrain(url, benchCase));
      workerRuns.push(await runWorker(url, benchCase));
    } else {
      workerRuns.push(await runWorker(url, benchCase));
      drainRuns.push(await runDrain(url, benchCase));
    }
  }
  const drain = contenderReport(benchCase.jobs, drainRuns);
  const worker = contenderReport(benchCase.jobs, workerRuns);
  return {
    jobs: benchCase.jobs,
    concurrency: benchCase.concurrency,
    workMs: benchCase.workMs,
    drain,
    worker,
    throughputRatios: summarize(drainRuns.map((run, index) => workerRuns[index]!.totalMs / run.totalMs)),
    processingThroughputRatios: summarize(
      drainRuns.map((run, index) => workerRuns[index]!.processingMs / run.processingMs),
    ),
  };
}

function contenderReport(jobs: number, runs: readonly Run[]): ContenderReport {
  return {
    jobsPerSecond: summarize(runs.map((run) => (jobs * 1_000) / run.totalMs)),
    processingJobsPerSecond: summarize(runs.map((run) => (jobs * 1_000) / run.processingMs)),
    firstJobMs: summarize(runs.map((run) => run.firstJobMs)),
  };
}

async function addJobs(url: string, prefix: string, { jobs, workMs }: Case): Promise<void> {
  const queue = new Queue(QUEUE, { connection: { url }, prefix });
  const data: RecordedJobData = { workMs };
  await queue.addBulk(Array.from({ length: jobs }, (_, index) => ({ name: `job-${index}`, data })));
  await queue.close();
}

/** Sends one drain request over HTTP to an application that is already running and warmed up. */
async function runDrain(url: string, benchCase: Case): Promise<Run> {
  const prefix = `bench-${(prefixCounter += 1)}`;
  const app = await BenchApp.start({
    REDIS_URL: url,
    QUEUE_KEY_PREFIX: prefix,
    QUEUE_CONCURRENCY: String(benchCase.concurrency),
  });
  try {
    // A deployed application has served requests before, so an idle call
    // warms up the HTTP stack and the drain's code paths first.
    await app.drain({ queue: QUEUE });
    await addJobs(url, prefix, benchCase);
    const startedAt = Date.now();
    const { result, elapsedMs } = await app.drain({ queue: QUEUE, maxDurationMs: 600_000 });
    if (result.queues[QUEUE]?.processed !== benchCase.jobs) {
      throw new Error(`The drain processed ${result.queues[QUEUE]?.processed} of ${benchCase.jobs} jobs.`);
    }
    return timings(app.log.calls, startedAt, elapsedMs);
  } finally {
    await app.close();
  }
}

/** Runs a plain BullMQ Worker from its creation until it has completed every job. */
async function runWorker(url: string, benchCase: Case): Promise<Run> {
  const prefix = `bench-${(prefixCounter += 1)}`;
  await addJobs(url, prefix, benchCase);
  const log = new HandlerLog();
  const handler = new RecordingHandler(QUEUE, log);
  let completed = 0;
  let resolveAll!: () => void;
  const allCompleted = new Promise<void>((resolve) => (resolveAll = resolve));

  const startedAt = Date.now();
  const worker = new Worker(QUEUE, (job: Job<RecordedJobData>, _token, signal) => handler.handle(job, signal!), {
    connection: { url },
    prefix,
    concurrency: benchCase.concurrency,
  });
  worker.on('completed', () => {
    completed += 1;
    if (completed === benchCase.jobs) {
      resolveAll();
    }
  });
  await allCompleted;
  const totalMs = Date.now() - startedAt;
  await worker.close();
  return timings(log.calls, startedAt, totalMs);
}

function timings(calls: readonly HandlerCall[], startedAt: number, totalMs: number): Run {
  const firstStart = Math.min(...calls.map((call) => call.startedAt));
  const lastFinish = Math.max(...calls.map((call) => call.finishedAt ?? call.startedAt));
  return { firstJobMs: firstStart - startedAt, totalMs, processingMs: Math.max(1, lastFinish - firstStart) };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
