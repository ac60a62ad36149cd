// Demo of the main job: jobs in five queues, one HTTP call as a scheduler
// makes it, the jobs processed by their handlers, the result reported.
//
// Starts a throw-away redis-server (unless REDIS_URL is set) and the built API
// in cron mode, adds jobs, calls POST /api/v1/cron/drain-queues with the
// token, prints the response and a summary, and stops what it started, also
// on Ctrl-C or error. Run it with `npm run demo`, which builds first.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue } from 'bullmq';

const QUEUES = ['batch-jobs', 'dsar-jobs', 'journey-jobs', 'retrain-jobs', 'seed-jobs'];
const DELAYED_JOB_DELAY_MS = 45_000;
const STARTUP_TIMEOUT_MS = 15_000;

const children = [];
const queues = [];

async function main() {
  const token = randomBytes(24).toString('base64url');
  const prefix = `demo-${randomBytes(4).toString('hex')}`;
  const redisUrl = process.env.REDIS_URL || (await startRedis());
  const port = await freePort();

  step(`Starting the API in cron mode on port ${port} (WORKER_INPROCESS=0, no worker, no Redis connection)`);
  const api = startChild('node', ['dist/main.js'], {
    ...process.env,
    REDIS_URL: redisUrl,
    WORKER_INPROCESS: '0',
    DRAIN_QUEUES_TOKEN: token,
    QUEUE_KEY_PREFIX: prefix,
    PORT: String(port),
    LOG_FORMAT: 'pretty',
  });
  await waitForPort(port, api);

  step('Adding jobs: 4 per queue, plus one that fails (dsar-jobs) and one delayed by 45 s (journey-jobs)');
  await addJobs(redisUrl, prefix);

  const url = `http://127.0.0.1:${port}/api/v1/cron/drain-queues`;
  step(`Calling the endpoint as a scheduler would:\n  curl -X POST -H 'Authorization: Bearer <token>' ${url}`);
  const response = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  const body = await response.json();

  step(`Response ${response.status} ${response.statusText}`);
  console.log(JSON.stringify(body, null, 2));
  if (response.status !== 200) {
    throw new Error(`The drain call returned ${response.status}: ${body.message ?? 'no message'}`);
  }
  printSummary(body);
}

async function addJobs(redisUrl, prefix) {
  for (const name of QUEUES) {
    // The demo's producers fail fast instead of retrying, so that stopping
    // after Redis is gone (Ctrl-C reaches redis-server too) cannot hang.
    const connection = { url: redisUrl, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null };
    const queue = new Queue(name, { connection, prefix });
    queue.on('error', () => undefined);
    queues.push(queue);
    await queue.addBulk([10, 20, 30, 40].map((workMs, index) => ({ name: `example-${index + 1}`, data: { workMs } })));
  }
  await queues[1].add('fails-on-purpose', { fail: true });
  await queues[2].add('due-later', {}, { delay: DELAYED_JOB_DELAY_MS });
}

function printSummary(body) {
  step('Summary');
  const header = ['queue', 'processed', 'failed', 'stopped by', 'remaining', 'delayed', 'next due in'];
  const rows = Object.entries(body.queues).map(([name, queue]) => [
    name,
    queue.processed,
    queue.failed,
    queue.stoppedBy,
    queue.remaining,
    queue.delayed,
    queue.nextDueInMs === null ? '-' : `${Math.round(queue.nextDueInMs / 1000)} s`,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => String(row[column]).length)),
  );
  for (const row of [header, ...rows]) {
    console.log(`  ${row.map((cell, column) => String(cell).padEnd(widths[column])).join('  ')}`.trimEnd());
  }
  const processed = rows.reduce((total, row) => total + row[1], 0);
  const failed = rows.reduce((total, row) => total + row[2], 0);
  console.log(
    `\n${processed} jobs processed and ${failed} failed in ${body.durationMs} ms, ` +
      `with ${body.redisCommands} Redis commands for the whole call; stopped by ${body.stoppedBy}.`,
  );
}

/** Directory of the throw-away Redis, deleted when the demo stops. */
let redisDirectory;

async function startRedis() {
  const port = await freePort();
  step(`Starting a throw-away redis-server on port ${port} (set REDIS_URL to use your own)`);
  // A directory of its own, so that Redis loads no dump.rdb left in the working directory.
  redisDirectory = await mkdtemp(join(tmpdir(), 'demo-redis-'));
  const redis = startChild('redis-server', [
    '--dir',
    redisDirectory,
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  await waitForPort(port, redis);
  return `redis://127.0.0.1:${port}`;
}

function startChild(command, args, env = process.env) {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  const collect = (chunk) => {
    child.output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  child.on('error', (error) => {
    child.output += `${error.message}\n`;
  });
  children.push(child);
  return child;
}

/** Waits until something accepts connections on the port; nothing announces it in a stable way. */
async function waitForPort(port, child) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${child.spawnfile} exited before listening on port ${port}:\n${child.output}`);
    }
    const connected = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) {
      return;
    }
    await sleep(100);
  }
  throw new Error(
    `${child.spawnfile} did not listen on port ${port} within ${STARTUP_TIMEOUT_MS / 1000} s:\n${child.output}`,
  );
}

async function freePort() {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  return port;
}

function step(message) {
  console.log(`\n▶ ${message}`);
}

let stopping;
async function stopEverything() {
  stopping ??= (async () => {
    for (const queue of queues) {
      // Only a Redis named by REDIS_URL outlives the demo, so only there do
      // the demo's keys need removing.
      if (process.env.REDIS_URL) {
        await queue.obliterate({ force: true }).catch(() => undefined);
      }
      await queue.close().catch(() => undefined);
    }
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(5_000).then(() => child.kill('SIGKILL'))]);
      }
    }
    if (redisDirectory !== undefined) {
      await rm(redisDirectory, { recursive: true, force: true });
    }
  })();
  return stopping;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`\nReceived ${signal}: stopping the API and Redis.`);
    void stopEverything().finally(() => process.exit(130));
  });
}

try {
  await main();
  await stopEverything();
  console.log('\nStopped the API and everything the demo started.');
} catch (error) {
  // After Ctrl-C the steps still running fail as Redis goes away; the signal
  // handler reports the stop instead.
  if (stopping === undefined) {
    console.error(`\nThe demo failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await stopEverything();
  process.exit(1);
}
