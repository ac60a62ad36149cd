import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';

import type { DrainResult } from '../../src/cron/drain-result';
import { QUEUE_NAMES } from '../../src/queues/queue-names';
import { HandlerLog, RecordingHandlersModule } from '../../test/support/recording-handlers';
import { createTestApp, TEST_TOKEN, type TestApp } from '../../test/support/test-app';

export const DRAIN_PATH = '/api/v1/cron/drain-queues';
export const PING_PATH = '/api/v1/bench/ping';

/** A trivial endpoint of the same application, to compare the drain's latency with. */
@Controller({ path: 'bench', version: '1' })
class PingController {
  @Get('ping')
  ping(): { ok: true } {
    return { ok: true };
  }
}

@Module({})
class BenchHandlersModule {
  static create(): DynamicModule {
    return {
      module: BenchHandlersModule,
      imports: [RecordingHandlersModule.forQueues(QUEUE_NAMES)],
      controllers: [PingController],
    };
  }
}

export interface TimedDrain {
  readonly result: DrainResult;
  readonly elapsedMs: number;
}

/**
 * The reference application with recording handlers for the five queues and
 * a trivial endpoint, listening on a loopback port for real HTTP requests.
 */
export class BenchApp {
  private constructor(
    readonly testApp: TestApp,
    readonly baseUrl: string,
  ) {}

  static async start(env: Record<string, string | undefined>): Promise<BenchApp> {
    const testApp = await createTestApp(
      { DRAIN_QUEUES_RATE_LIMIT: '10000', ...env },
      { handlers: BenchHandlersModule.create() },
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

  /** Requests the trivial endpoint and returns the time to its parsed response. */
  async ping(): Promise<number> {
    const startedAt = performance.now();
    const response = await fetch(new URL(PING_PATH, this.baseUrl));
    await response.json();
    if (response.status !== 200) {
      throw new Error(`The ping request failed with ${response.status}.`);
    }
    return performance.now() - startedAt;
  }

  close(): Promise<void> {
    this.log.releaseAll();
    return this.testApp.close();
  }
}
