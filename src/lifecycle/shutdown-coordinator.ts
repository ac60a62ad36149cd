import { Global, Injectable, Logger, Module, type INestApplicationContext } from '@nestjs/common';

import { AppConfig } from '../config/app-config';

/**
 * Lets the entry points tell the modules that a second stop signal arrived
 * and the remaining grace period must be skipped.
 */
@Injectable()
export class ShutdownCoordinator {
  private readonly controller = new AbortController();

  /** Aborted when shutdown must finish at once. */
  get expedited(): AbortSignal {
    return this.controller.signal;
  }

  expedite(): void {
    this.controller.abort();
  }
}

@Global()
@Module({ providers: [ShutdownCoordinator], exports: [ShutdownCoordinator] })
export class LifecycleModule {}

/**
 * Time that shutdown may take beyond the grace periods: putting jobs back and
 * closing the workers (5 s together), dropping their connections when Redis
 * does not respond (3 s), and the response to a drain call.
 */
const SHUTDOWN_ALLOWANCE_MS = 15_000;

/**
 * Closes the application on SIGTERM or SIGINT and exits with code 0. A second
 * signal skips the remaining grace period: running jobs are put back at once.
 * Nest's own `enableShutdownHooks()` re-raises the signal after closing,
 * which ends the process with code 143 or 130, so it is not used.
 *
 * `app` may be the promise of an application that is still starting, so that
 * a signal during start-up is not lost: the application is closed as soon as
 * it has started.
 *
 * If closing has not finished by the grace periods plus 15 s (15 s after a
 * second signal), for example because a handler ignores its abort signal and
 * BullMQ waits for it, the process exits with code 1. Jobs are safe either way:
 * a job that was neither finished nor put back keeps its lock until it
 * expires and is then run again.
 */
export function exitOnStopSignals(app: INestApplicationContext | Promise<INestApplicationContext>): void {
  const logger = new Logger('Shutdown');
  let closing: Promise<void> | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let deadlineAt = Number.POSITIVE_INFINITY;

  const exitAfter = (timeoutMs: number) => {
    if (Date.now() + timeoutMs >= deadlineAt) {
      return;
    }
    deadlineAt = Date.now() + timeoutMs;
    clearTimeout(deadline);
    deadline = setTimeout(() => {
      logger.error(`Shutdown did not finish within ${timeoutMs} ms; exiting now.`);
      process.exit(1);
    }, timeoutMs);
    deadline.unref();
  };

  const close = async () => {
    const context = await app;
    const { workers, drain } = context.get(AppConfig);
    exitAfter(workers.shutdownGraceMs + drain.abortGraceMs + SHUTDOWN_ALLOWANCE_MS);
    await context.close();
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (closing !== undefined) {
      logger.warn(`Received ${signal} again: putting running jobs back and exiting now.`);
      exitAfter(SHUTDOWN_ALLOWANCE_MS);
      void Promise.resolve(app).then((context) => context.get(ShutdownCoordinator).expedite());
      return;
    }
    logger.log(`Received ${signal}: finishing running jobs, then exiting.`);
    closing = close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error(`Shutdown failed: ${String(error)}`, error instanceof Error ? error.stack : undefined);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
