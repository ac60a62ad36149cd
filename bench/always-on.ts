/**
 * Idle cost of five always-on workers, BullMQ's defaults against the tuned
 * defaults of the application, measured side by side on separate throw-away
 * Redis servers over the same window. Afterwards it measures how fast a
 * blocked worker picks up a new job and what an isolated job costs, and a
 * fourth server checks the worst-case delay before a stalled job is recovered.
 *
 * Usage: npm run bench:always-on. BENCH_IDLE_MINUTES sets the steady window
 * that follows 10 s of start-up (default 10, a whole period of both the tuned
 * 300 s block and the 120 s stalled check).
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';

import { QUEUE_NAMES, type QueueName } from '../src/queues/queue-names';
import { CommandRecorder, type RecordedCommand } from '../test/support/queues';
import { HandlerLog, RecordingHandler, type RecordedJobData } from '../test/support/recording-handlers';
import { RedisServer } from '../test/support/redis-server';
import { BenchApp } from './support/bench-app';
import { writeResult } from './support/results';
import { round, summarize, type Summary } from './support/stats';

const WINDOW_MINUTES = Number(process.env.BENCH_IDLE_MINUTES ?? 10);
const STARTUP_MS = 10_000;
const PICKUP_SAMPLES = 10;
const PREFIX = 'bench';
const PICKUP_QUEUE: QueueName = 'batch-jobs';

/** The application's tuned defaults, repeated here to derive the stall bound. */
const TUNED_STALLED_INTERVAL_MS = 120_000;
const LOCK_DURATION_MS = 30_000;

interface Consumer {
  readonly log: HandlerLog;
  close(): Promise<void>;
}

interface Lane {
  readonly name: string;
  readonly description: string;
  readonly server: RedisServer;
  readonly recorder: CommandRecorder;
  readonly consumer: Consumer;
  readonly startedAt: number;
}

interface IdleReport {
  readonly description: string;
  readonly windowMinutes: number;
  /** Commands in the first 10 s: connections, handshakes and the first fetch and stalled check. */
  readonly startupCommands: number;
  readonly steadyCommands: number;
  /** Steady commands divided by the window's minutes. */
  readonly commandsPerMinute: number;
  readonly steadyByCommand: Record<string, number>;
}

interface PickupReport {
  readonly latencyMs: Summary;
  /** Worker commands from the add until the worker is blocked and quiet again, per isolated job. */
  readonly commandsPerJob: Summary;
  readonly lastJobCommands: string[];
}

async function main(): Promise<void> {
  const lanes = await Promise.all([
    startLane('bullmqDefaults', 'five plain BullMQ Workers, default options', startPlainWorkers),
    startLane('appTuned', 'the application, WORKER_INPROCESS=1, tuned defaults', (url) => startApp(url, {})),
    startLane('appBullmqTiming', 'the application with drainDelay 5 s and stalledInterval 30 s', (url) =>
      startApp(url, { WORKER_DRAIN_DELAY_SECONDS: '5', WORKER_STALLED_INTERVAL_MS: '30000' }),
    ),
    startLane(
      'appTunedWithDelayedJob',
      'the application with tuned defaults and one job in seed-jobs delayed by 2 hours',
      (url) => startApp(url, {}),
      (url) => addDelayedJob(url, 'seed-jobs', 2 * 60 * 60_000),
    ),
  ]);
  const stalledCheck = measureStalledRecovery();
  console.log(`Measuring idle commands for ${WINDOW_MINUTES} minute(s) after ${STARTUP_MS / 1_000} s of start-up…`);
  await sleep(STARTUP_MS + WINDOW_MINUTES * 60_000);

  const idle = Object.fromEntries(lanes.map((lane) => [lane.name, idleReport(lane)]));
  const pickup: Record<string, PickupReport> = {};
  for (const lane of lanes) {
    pickup[lane.name] = await measurePickup(lane);
  }
  const stalledRecovery = await stalledCheck;
  await Promise.all(lanes.map((lane) => stopLane(lane)));

  const path = await writeResult('always-on', { windowMinutes: WINDOW_MINUTES, idle, pickup, stalledRecovery });
  console.log(JSON.stringify({ idle, pickup, stalledRecovery }, null, 2));
  console.log(`Wrote ${path}`);
}

async function startLane(
  name: string,
  description: string,
  startConsumer: (url: string) => Promise<Consumer>,
  prepare: (url: string) => Promise<void> = () => Promise.resolve(),
): Promise<Lane> {
  const server = await RedisServer.start();
  await prepare(server.url);
  const recorder = await CommandRecorder.start(server.url);
  recorder.reset();
  const startedAt = Date.now();
  const consumer = await startConsumer(server.url);
  return { name, description, server, recorder, consumer, startedAt };
}

async function stopLane(lane: Lane): Promise<void> {
  await lane.consumer.close();
  await lane.recorder.stop();
  await lane.server.stop();
}

/** Five BullMQ workers as a plain BullMQ user would create them. */
async function startPlainWorkers(url: string): Promise<Consumer> {
  const log = new HandlerLog();
  const workers = QUEUE_NAMES.map((queue) => {
    const handler = new RecordingHandler(queue, log);
    return new Worker(queue, (job: Job<RecordedJobData>, _token, signal) => handler.handle(job, signal!), {
      connection: { url },
      prefix: PREFIX,
    });
  });
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  return { log, close: async () => void (await Promise.all(workers.map((worker) => worker.close()))) };
}

/**
 * Adds a job that is not due for a long time. BullMQ then caps the worker's
 * blocking wait at 10 s until the job is due, whatever drainDelay is.
 */
async function addDelayedJob(url: string, queueName: QueueName, delayMs: number): Promise<void> {
  const queue = new Queue(queueName, { connection: { url }, prefix: PREFIX });
  await queue.add('delayed', {}, { delay: delayMs });
  await queue.close();
}

async function startApp(url: string, env: Record<string, string>): Promise<Consumer> {
  const app = await BenchApp.start({ REDIS_URL: url, QUEUE_KEY_PREFIX: PREFIX, WORKER_INPROCESS: '1', ...env });
  return { log: app.log, close: () => app.close() };
}

/**
 * Counts the commands of the start-up (the first 10 s) and of the steady
 * window after it, which spans whole periods of the workers' timers.
 */
function idleReport(lane: Lane): IdleReport {
  const steadyStart = lane.startedAt + STARTUP_MS;
  const steadyEnd = steadyStart + WINDOW_MINUTES * 60_000;
  const startup = lane.recorder.entries.filter((entry) => entry.timeMs < steadyStart);
  const steady = lane.recorder.entries.filter((entry) => entry.timeMs >= steadyStart && entry.timeMs < steadyEnd);
  const byCommand: Record<string, number> = {};
  for (const entry of steady) {
    const name = commandLabel(entry);
    byCommand[name] = (byCommand[name] ?? 0) + 1;
  }
  return {
    description: lane.description,
    windowMinutes: WINDOW_MINUTES,
    startupCommands: startup.length,
    steadyCommands: steady.length,
    commandsPerMinute: round(steady.length / WINDOW_MINUTES),
    steadyByCommand: byCommand,
  };
}

/** Names a command for the breakdown, with the BullMQ script that an EVAL or EVALSHA runs. */
function commandLabel(entry: RecordedCommand): string {
  if (entry.name !== 'eval' && entry.name !== 'evalsha') {
    return entry.name === 'client' ? `client ${entry.args[0]?.toLowerCase()}` : entry.name;
  }
  const keys = entry.args.slice(2);
  const hasKey = (type: string) => keys.some((key) => key.endsWith(`:${type}`));
  if (hasKey('stalled-check')) {
    return 'script moveStalledJobsToWait';
  }
  if (hasKey('completed') || hasKey('failed')) {
    return 'script moveToFinished';
  }
  if (hasKey('active') && hasKey('wait')) {
    return 'script moveToActive';
  }
  return `script with ${entry.args[1] ?? '?'} keys`;
}

/**
 * Adds one job at a time to a blocked worker and times the handler's start.
 * The next job is added once the worker is blocked and quiet again.
 */
async function measurePickup(lane: Lane): Promise<PickupReport> {
  const producer = new Redis(lane.server.url, { maxRetriesPerRequest: null });
  const queue = new Queue(PICKUP_QUEUE, { connection: producer, prefix: PREFIX });
  await queue.waitUntilReady();
  const producerSource = `${producer.stream.localAddress}:${producer.stream.localPort}`;
  const markerKey = `${PREFIX}:${PICKUP_QUEUE}:marker`;
  const latencies: number[] = [];
  const commands: number[] = [];
  let lastJobCommands: string[] = [];

  for (let sample = 0; sample < PICKUP_SAMPLES; sample += 1) {
    await waitUntilQuiet(lane.recorder);
    lane.recorder.reset();
    const addedAt = Date.now();
    const job = await queue.add('pickup', {});
    const call = await lane.consumer.log.waitForStart((run) => run.queue === PICKUP_QUEUE && run.jobId === job.id);
    latencies.push(call.startedAt - addedAt);
    await lane.recorder.waitFor((entry) => entry.name === 'bzpopmin' && entry.args[0] === markerKey);
    await waitUntilQuiet(lane.recorder);
    commands.push(lane.recorder.entries.filter((entry) => entry.source !== producerSource).length);
    lastJobCommands = lane.recorder.entries.filter((entry) => entry.source !== producerSource).map(commandLabel);
  }

  await queue.close();
  producer.disconnect();
  return { latencyMs: summarize(latencies), commandsPerJob: summarize(commands), lastJobCommands };
}

/**
 * Resolves once the server has seen no client command for `quietMs`, so
 * that a worker has settled in its blocking wait. Nothing signals the end
 * of activity, so this polls, and gives up after 30 s.
 */
async function waitUntilQuiet(recorder: CommandRecorder, quietMs = 300): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    await recorder.mark();
    const before = recorder.count;
    await sleep(quietMs);
    await recorder.mark();
    if (recorder.count === before) {
      return;
    }
  }
  throw new Error('The server did not become quiet within 30 s.');
}

/**
 * Recreates the worst case for stalled-job recovery with the tuned settings:
 * a job becomes active just after a stalled check and its consumer crashes at
 * once. BullMQ marks active jobs at one check and moves those still unlocked
 * at the next, so the job waits for two checks: at most 2 × stalledInterval
 * when the lock duration is shorter than the interval.
 */
async function measureStalledRecovery(): Promise<Record<string, number | string>> {
  const server = await RedisServer.start();
  const recorder = await CommandRecorder.start(server.url);
  const checkKey = `${PREFIX}:${PICKUP_QUEUE}:stalled-check`;
  const firstCheck = recorder.waitFor(
    (entry) => entry.source === 'lua' && entry.name === 'set' && entry.args[0] === checkKey,
  );
  const app = await BenchApp.start({ REDIS_URL: server.url, QUEUE_KEY_PREFIX: PREFIX, WORKER_INPROCESS: '1' });
  const queue = new Queue(PICKUP_QUEUE, { connection: { url: server.url }, prefix: PREFIX });
  const crashed = new Worker(PICKUP_QUEUE, null, { connection: { url: server.url }, prefix: PREFIX, autorun: false });
  try {
    const check = await firstCheck;
    // The application's only worker of the queue is busy with this job, so
    // the next one goes to the consumer that crashes.
    const busy = await queue.add('busy', { workMs: 5_000 });
    await app.log.waitForStart((call) => call.queue === PICKUP_QUEUE && call.jobId === busy.id);
    const stalled = await queue.add('stalled', {});
    const taken = await crashed.getNextJob('crashed-consumer', { block: false });
    if (taken?.id !== stalled.id) {
      throw new Error(`The crashing consumer took job ${taken?.id} instead of ${stalled.id}.`);
    }
    await crashed.close(true);
    const crashedAt = Date.now();
    console.log('A consumer crashed with a job; waiting for the tuned workers to recover it…');

    const recovered = await app.log.waitForStart((call) => call.queue === PICKUP_QUEUE && call.jobId === stalled.id);
    const checks = recorder.scriptCommands.filter((entry) => entry.name === 'set' && entry.args[0] === checkKey);
    return {
      stalledIntervalMs: TUNED_STALLED_INTERVAL_MS,
      lockDurationMs: LOCK_DURATION_MS,
      boundMs: 2 * TUNED_STALLED_INTERVAL_MS,
      crashAfterCheckMs: crashedAt - check.timeMs,
      recoveredAfterMs: recovered.startedAt - crashedAt,
      stalledChecksSeen: checks.length,
      note: 'The job became active right after a stalled check, the worst case for recovery.',
    };
  } finally {
    await queue.close();
    await app.close();
    await recorder.stop();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
