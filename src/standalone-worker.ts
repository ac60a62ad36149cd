import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { createLogger, loadConfigOrExit } from './app.setup';
import { exitOnStopSignals } from './lifecycle/shutdown-coordinator';
import { StandaloneWorkerModule } from './workers/standalone-worker.module';
import { WorkersMessages } from './workers/workers.messages';

const CONTEXT = 'StandaloneWorker';

/**
 * Starts the standalone worker: always-on workers for the queues in
 * `WORKER_QUEUES` and no HTTP server. `WORKER_INPROCESS` chooses the mode of
 * the API process only, so this process ignores it: an environment file
 * shared with an API in cron mode (`WORKER_INPROCESS=0`) still runs workers
 * here. When the workers cannot start, it logs why and exits with code 1.
 *
 * @param releaseEarlySignals Removes the entry point's handlers for stop
 * signals that arrive before the application has loaded.
 */
export async function startStandaloneWorker(releaseEarlySignals: () => void): Promise<void> {
  try {
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
    releaseEarlySignals();
    await app;
  } catch (error) {
    new Logger('Bootstrap').error(
      `The standalone worker failed to start: ${String(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
    process.exit(1);
  }
}
