/**
 * Latency of an idle drain call over five empty queues next to the liveness
 * endpoint of the same application (`GET /api/v1/health`, which sends no
 * Redis command), over HTTP on the loopback interface, requests alternating.
 *
 * Usage: npm run bench:latency. BENCH_REQUESTS sets the requests per endpoint
 * (default 300).
 */
import { RedisServer } from '../test/support/redis-server';
import { BenchApp } from './support/bench-app';
import { writeResult } from './support/results';
import { round, summarize } from './support/stats';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const WARM_UP_REQUESTS = 30;

async function main(): Promise<void> {
  const server = await RedisServer.start();
  const app = await BenchApp.start({ REDIS_URL: server.url, QUEUE_KEY_PREFIX: 'bench' });
  try {
    for (let index = 0; index < WARM_UP_REQUESTS; index += 1) {
      await app.live();
      await app.drain();
    }
    const liveness: number[] = [];
    const drain: number[] = [];
    for (let index = 0; index < REQUESTS; index += 1) {
      liveness.push(await app.live());
      const { result, elapsedMs } = await app.drain();
      if (result.stoppedBy !== 'idle' || result.redisCommands !== 1) {
        throw new Error(`An idle call stopped by ${result.stoppedBy} with ${result.redisCommands} command(s).`);
      }
      drain.push(elapsedMs);
    }
    const data = {
      requests: REQUESTS,
      trivialEndpointMs: summarize(liveness),
      idleDrainMs: summarize(drain),
      medianRatio: round(summarize(drain).median / summarize(liveness).median),
      p95Ratio: round(summarize(drain).p95 / summarize(liveness).p95),
    };
    const path = await writeResult('latency', data);
    console.log(JSON.stringify(data, null, 2));
    console.log(`Wrote ${path}`);
  } finally {
    await app.close();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
