/**
 * Commands per idle call over five empty queues, handshake included: the
 * drain endpoint next to the naive probe that plain BullMQ offers (a `Queue`
 * and `getJobCounts()` per queue). Each is measured against a Redis without
 * a password, with a password, and over TLS with a password as hosted Redis
 * serves it.
 *
 * Usage: npm run bench:idle-call
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { Queue } from 'bullmq';

import { QUEUE_NAMES } from '../src/queues/queue-names';
import { CommandRecorder } from '../test/support/queues';
import { RedisServer } from '../test/support/redis-server';
import { BenchApp } from './support/bench-app';
import { writeResult } from './support/results';
import { rejectedCommands, startTlsRedis } from './support/servers';
import { summarize, type Summary } from './support/stats';

const CALLS = 20;
const PASSWORD = 'bench-password';
const PREFIX = 'bench';
/** Set in the child process that measures the TLS server. */
const CHILD_URL_VARIABLE = 'BENCH_IDLE_CALL_URL';

interface CallCost {
  /** Commands that MONITOR recorded per call. */
  readonly recorded: Summary;
  /** Commands that Redis rejected before running them, per call. */
  readonly rejected: Summary;
  /** Command names of the first call, in order. */
  readonly firstCallCommands: string[];
}

interface LaneReport {
  readonly drain: CallCost & { readonly reportedByDrain: Summary };
  readonly naiveProbe: CallCost;
  /** Commands of a naive probe call divided by those of a drain call, both with rejected commands. */
  readonly ratio: number;
}

async function main(): Promise<void> {
  const childUrl = process.env[CHILD_URL_VARIABLE];
  if (childUrl !== undefined) {
    process.stdout.write(JSON.stringify(await measureLane(childUrl)));
    return;
  }

  const plain = await RedisServer.start();
  const protectedServer = await RedisServer.start({ password: PASSWORD });
  const tls = await startTlsRedis(PASSWORD);
  try {
    const lanes = {
      noPassword: await measureLane(plain.url),
      password: await measureLane(protectedServer.url),
      tlsWithPassword: await measureInChild(tls.server.url, tls.caFile),
    };
    const path = await writeResult('idle-call', { calls: CALLS, queues: QUEUE_NAMES.length, lanes });
    console.log(JSON.stringify(lanes, null, 2));
    console.log(`Wrote ${path}`);
  } finally {
    await plain.stop();
    await protectedServer.stop();
    await tls.stop();
  }
}

async function measureLane(url: string): Promise<LaneReport> {
  const drain = await measureDrain(url);
  const naiveProbe = await measureCalls(url, () => probeNaively(url));
  const total = (cost: CallCost) => cost.recorded.median + cost.rejected.median;
  return { drain, naiveProbe, ratio: total(naiveProbe) / total(drain) };
}

/** Runs the lane in a child process that trusts the server's self-signed certificate. */
async function measureInChild(url: string, caFile: string): Promise<LaneReport> {
  const { stdout } = await promisify(execFile)(process.execPath, [__filename], {
    env: { ...process.env, [CHILD_URL_VARIABLE]: url, NODE_EXTRA_CA_CERTS: caFile },
  });
  return JSON.parse(stdout) as LaneReport;
}

async function measureDrain(url: string): Promise<LaneReport['drain']> {
  const app = await BenchApp.start({ REDIS_URL: url, QUEUE_KEY_PREFIX: PREFIX });
  const reported: number[] = [];
  try {
    const cost = await measureCalls(url, async () => {
      const { result } = await app.drain();
      if (result.stoppedBy !== 'idle') {
        throw new Error(`An idle call stopped by ${result.stoppedBy}.`);
      }
      reported.push(result.redisCommands);
    });
    return { ...cost, reportedByDrain: summarize(reported) };
  } finally {
    await app.close();
  }
}

/** Probes the queues as a plain BullMQ user would: one `Queue` per queue and its job counts. */
async function probeNaively(url: string): Promise<void> {
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection: { url }, prefix: PREFIX }));
  try {
    await Promise.all(queues.map((queue) => queue.getJobCounts()));
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
  }
}

async function measureCalls(url: string, call: () => Promise<void>): Promise<CallCost> {
  const recorder = await CommandRecorder.start(url);
  const recorded: number[] = [];
  const rejected: number[] = [];
  let firstCallCommands: string[] = [];
  try {
    for (let index = 0; index < CALLS; index += 1) {
      const rejectedBefore = await rejectedCommands(url);
      await recorder.mark();
      recorder.reset();
      await call();
      await recorder.mark();
      recorded.push(recorder.count);
      if (index === 0) {
        firstCallCommands = recorder.entries.map((entry) => entry.name);
      }
      rejected.push((await rejectedCommands(url)) - rejectedBefore);
    }
  } finally {
    await recorder.stop();
  }
  return { recorded: summarize(recorded), rejected: summarize(rejected), firstCallCommands };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
