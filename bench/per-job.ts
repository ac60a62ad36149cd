/**
 * Commands per processed job. A drain call over 1,000 waiting jobs runs next
 * to a plain BullMQ Worker that processes the same jobs from its start to its
 * close, at concurrency 1 and 10. The benchmark also counts the cost of adding
 * jobs and the per-call overhead for smaller batches.
 *
 * Usage: npm run bench:per-job
 */
import { Queue, Worker, type Job } from 'bullmq';

import { QUEUE_NAMES, type QueueName } from '../src/queues/queue-names';
import { CommandRecorder } from '../test/support/queues';
import { HandlerLog, RecordingHandler, type RecordedJobData } from '../test/support/recording-handlers';
import { RedisServer } from '../test/support/redis-server';
import { BenchApp } from './support/bench-app';
import { writeResult } from './support/results';
import { round } from './support/stats';

const JOBS = 1_000;
const CONCURRENCIES = [1, 10];
const BATCH_SIZES = [1, 10, 100, 1_000];
const QUEUE: QueueName = 'batch-jobs';

interface Cost {
  readonly jobs: number;
  readonly commands: number;
  readonly commandsPerJob: number;
}

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const recorder = await CommandRecorder.start(server.url);
  let prefixCounter = 0;
  const nextPrefix = () => `bench-${(prefixCounter += 1)}`;
  const record = async (action: () => Promise<unknown>): Promise<number> => {
    await recorder.mark();
    recorder.reset();
    await action();
    await recorder.mark();
    return recorder.count;
  };

  try {
    const adding = await measureAdding(server.url, nextPrefix(), record);
    const drain: Record<string, Cost> = {};
    const worker: Record<string, Cost> = {};
    for (const concurrency of CONCURRENCIES) {
      drain[`concurrency${concurrency}`] = await measureDrain(server.url, nextPrefix(), concurrency, [QUEUE], record);
      worker[`concurrency${concurrency}`] = await measureWorker(server.url, nextPrefix(), concurrency, record);
    }
    drain.fiveQueues = await measureDrain(server.url, nextPrefix(), 1, QUEUE_NAMES, record);
    const batches: Record<string, Cost> = {};
    for (const size of BATCH_SIZES) {
      batches[`jobs${size}`] = await measureDrain(server.url, nextPrefix(), 1, [QUEUE], record, size);
    }

    const ratios = Object.fromEntries(
      CONCURRENCIES.map((concurrency) => {
        const key = `concurrency${concurrency}`;
        return [key, round(drain[key]!.commandsPerJob / worker[key]!.commandsPerJob, 3)];
      }),
    );
    const data = { jobs: JOBS, adding, drain, worker, drainToWorkerRatio: ratios, batches };
    const path = await writeResult('per-job', data);
    console.log(JSON.stringify(data, null, 2));
    console.log(`Wrote ${path}`);
  } finally {
    await recorder.stop();
    await server.stop();
  }
}

/** Runs an action and returns the commands that MONITOR recorded during it. */
type RecordCommands = (action: () => Promise<unknown>) => Promise<number>;

async function addJobs(url: string, prefix: string, queues: readonly QueueName[], jobs: number): Promise<void> {
  await Promise.all(
    queues.map(async (name) => {
      const queue = new Queue(name, { connection: { url }, prefix });
      const count = Math.ceil(jobs / queues.length);
      await queue.addBulk(Array.from({ length: count }, (_, index) => ({ name: `job-${index}`, data: {} })));
      await queue.close();
    }),
  );
}

/** Commands for adding jobs one at a time and in one bulk call, over an open producer connection. */
async function measureAdding(url: string, prefix: string, record: RecordCommands): Promise<Record<string, Cost>> {
  const queue = new Queue(QUEUE, { connection: { url }, prefix });
  await queue.waitUntilReady();
  const jobs = 100;
  const single = await record(async () => {
    for (let index = 0; index < jobs; index += 1) {
      await queue.add('single', {});
    }
  });
  const bulk = await record(() =>
    queue.addBulk(Array.from({ length: jobs }, (_, index) => ({ name: `bulk-${index}`, data: {} }))),
  );
  await queue.close();
  return { add: cost(jobs, single), addBulk: cost(jobs, bulk) };
}

async function measureDrain(
  url: string,
  prefix: string,
  concurrency: number,
  queues: readonly QueueName[],
  record: RecordCommands,
  jobs = JOBS,
): Promise<Cost> {
  await addJobs(url, prefix, queues, jobs);
  const app = await BenchApp.start({
    REDIS_URL: url,
    QUEUE_KEY_PREFIX: prefix,
    QUEUE_CONCURRENCY: String(concurrency),
  });
  try {
    let processed = 0;
    let reported = 0;
    const commands = await record(async () => {
      const { result } = await app.drain({ maxConcurrentQueues: queues.length, maxDurationMs: 600_000 });
      processed = Object.values(result.queues).reduce((total, queue) => total + queue.processed, 0);
      reported = result.redisCommands;
    });
    if (processed !== jobs) {
      throw new Error(`The drain processed ${processed} of ${jobs} jobs.`);
    }
    if (reported !== commands) {
      throw new Error(`The drain reported ${reported} commands, MONITOR recorded ${commands}.`);
    }
    return cost(jobs, commands);
  } finally {
    await app.close();
  }
}

/** Runs a plain BullMQ Worker from its creation, with the jobs waiting, to its close. */
async function measureWorker(url: string, prefix: string, concurrency: number, record: RecordCommands): Promise<Cost> {
  await addJobs(url, prefix, [QUEUE], JOBS);
  const handler = new RecordingHandler(QUEUE, new HandlerLog());
  const commands = await record(async () => {
    const worker = new Worker(QUEUE, (job: Job<RecordedJobData>, _token, signal) => handler.handle(job, signal!), {
      connection: { url },
      prefix,
      concurrency,
    });
    let completed = 0;
    const allCompleted = new Promise<void>((resolve) =>
      worker.on('completed', () => {
        completed += 1;
        if (completed === JOBS) {
          resolve();
        }
      }),
    );
    await allCompleted;
    await worker.close();
  });
  return cost(JOBS, commands);
}

function cost(jobs: number, commands: number): Cost {
  return { jobs, commands, commandsPerJob: round(commands / jobs, 3) };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
