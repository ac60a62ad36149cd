import type { DynamicModule, INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { App } from 'supertest/types';

import { AppModule } from '../../src/app.module';
import { apiApplicationOptions, configureApiApplication } from '../../src/app.setup';
import type { AppConfig } from '../../src/config/app-config';
import { loadAppConfig } from '../../src/config/load-app-config';
import { JobHandlersModule } from '../../src/job-handlers.module';

export const TEST_TOKEN = 'test-token-7f3c9a';

export interface TestAppOptions {
  /** Module that replaces the example handlers, such as `RecordingHandlersModule.forQueues(…)`. */
  readonly handlers?: DynamicModule;
}

export interface TestApp {
  readonly app: INestApplication<App>;
  readonly config: AppConfig;
  close(): Promise<void>;
}

/**
 * Builds the reference application as `main.ts` does, from an environment
 * that defaults to cron mode with a known token, and starts it on an HTTP
 * server for supertest.
 */
export async function createTestApp(
  env: Record<string, string | undefined>,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const config = loadAppConfig({
    WORKER_INPROCESS: '0',
    DRAIN_QUEUES_TOKEN: TEST_TOKEN,
    LOG_FORMAT: 'pretty',
    ...env,
  });
  const builder = Test.createTestingModule({ imports: [AppModule.forRoot(config)] });
  if (options.handlers !== undefined) {
    builder.overrideModule(JobHandlersModule).useModule(options.handlers);
  }
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({
    ...apiApplicationOptions(config),
    logger: process.env.TEST_LOGS === '1' ? undefined : false,
  });
  configureApiApplication(app, config);
  await app.init();
  return { app, config, close: () => app.close() };
}
