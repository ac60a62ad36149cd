import { Global, Injectable, Logger, Module, type INestApplicationContext } from '@nestjs/common';

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
 * Closes the application on SIGTERM or SIGINT and exits with code 0. A second
 * signal skips the remaining grace period: running jobs are put back at once.
 * Nest's own `enableShutdownHooks()` re-raises the signal after closing,
 * which ends the process with code 143 or 130, so it is not used.
 */
export function exitOnStopSignals(app: INestApplicationContext): void {
  const logger = new Logger('Shutdown');
  let closing: Promise<void> | undefined;

  const onSignal = (signal: NodeJS.Signals) => {
    if (closing !== undefined) {
      logger.warn(`Received ${signal} again: putting running jobs back and exiting now.`);
      app.get(ShutdownCoordinator).expedite();
      return;
    }
    logger.log(`Received ${signal}: finishing running jobs, then exiting.`);
    closing = app.close().then(
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
