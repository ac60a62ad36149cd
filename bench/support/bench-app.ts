import type { DrainResult } from '../../src/cron/drain-result';
import { QUEUE_NAMES } from '../../src/queues/queue-names';
import { HandlerLog, RecordingHandlersModule } from '../../test/support/recording-handlers';
import { createTestApp, TEST_TOKEN, type TestApp } from '../../test/support/test-app';

export const DRAIN_PATH = '/api/v1/cron/drain-queues';
/** The liveness endpoint: a trivial endpoint of the same application that sends no Redis command. */
export const LIVENESS_PATH = '/api/v1/health';

export interface TimedDrain {
  readonly result: DrainResult;
  readonly elapsedMs: number;
}

/**
 * The reference application with recording handlers for the five queues,
 * listening on a loopback port for real HTTP requests.
 */
export class BenchApp {
  private constructor(
    readonly testApp: TestApp,
    readonly baseUrl: string,
  ) {}

  static async start(env: Record<string, string | undefined>): Promise<BenchApp> {
    const testApp = await createTestApp(
      { DRAIN_QUEUES_RATE_LIMIT: '10000', ...env },
      { handlers: RecordingHandlersModule.forQueues(QUEUE_NAMES) },
    );
    await testApp.app.listen(0, '127.0.0.1');
    return new BenchApp(testApp, await testApp.app.getUrl());
  }

  get log(): HandlerLog {
    return this.testApp.app.get(HandlerLog);
  }

  /** Sends an authenticated drain request and times it from sending to the parsed response. */
  async drain(query: Record<string, string | number> = {}): Promise<TimedDrain> {
    const url = new URL(DRAIN_PATH, this.baseUrl);
    for (const [name, value] of Object.entries(query)) {
      url.searchParams.set(name, String(value));
    }
    const startedAt = performance.now();
    const response = await fetch(url, { method: 'POST', headers: { Authorization: `Bearer ${TEST_TOKEN}` } });
    const body = (await response.json()) as DrainResult;
    const elapsedMs = performance.now() - startedAt;
    if (response.status !== 200) {
      throw new Error(`The drain request failed with ${response.status}: ${JSON.stringify(body)}`);
    }
    return { result: body, elapsedMs };
  }

  /** Requests the liveness endpoint and returns the time to its parsed response. */
  async live(): Promise<number> {
    const startedAt = performance.now();
    const response = await fetch(new URL(LIVENESS_PATH, this.baseUrl));
    await response.json();
    if (response.status !== 200) {
      throw new Error(`The liveness request failed with ${response.status}.`);
    }
    return performance.now() - startedAt;
  }

  close(): Promise<void> {
    this.log.releaseAll();
    return this.testApp.close();
  }
}
