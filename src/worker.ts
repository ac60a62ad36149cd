import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { createLogger, loadConfigOrExit } from './app.setup';
import { exitOnStopSignals } from './lifecycle/shutdown-coordinator';
import { StandaloneWorkerModule } from './workers/standalone-worker.module';
import { WorkersMessages } from './workers/workers.messages';

const CONTEXT = 'StandaloneWorker';

/**
 * Entry point of the standalone worker: always-on workers for the queues in
 * `WORKER_QUEUES` and no HTTP server. `WORKER_INPROCESS` chooses the mode of
 * the API process only, so this process ignores it: an environment file
 * shared with an API in cron mode (`WORKER_INPROCESS=0`) still runs workers
 * here.
 */
async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config);
  if (config.redis.url === undefined) {
    logger.error(WorkersMessages.standaloneNeedsRedisUrl, undefined, CONTEXT);
    process.exit(1);
  }
  if (!config.workers.inProcess) {
    logger.log(WorkersMessages.inProcessIgnored, CONTEXT);
  }
  // Listen for stop signals while the workers start, so that none is lost.
  const app = NestFactory.createApplicationContext(StandaloneWorkerModule.forRoot(config), { logger });
  exitOnStopSignals(app);
  await app;
}

bootstrap().catch((error: unknown) => {
  new Logger('Bootstrap').error(
    `The standalone worker failed to start: ${String(error)}`,
    error instanceof Error ? error.stack : undefined,
  );
  process.exit(1);
});
