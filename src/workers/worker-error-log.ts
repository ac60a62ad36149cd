import type { Logger } from '@nestjs/common';

/** Minimum time between two log lines about the errors of one worker. */
const ERROR_LOG_INTERVAL_MS = 60_000;

/**
 * Logs the errors that one always-on worker reports, at most once a minute.
 *
 * While Redis is unreachable, ioredis reports every failed reconnection
 * attempt on both connections of every worker; one line a minute with the
 * number of errors left out keeps the log readable.
 */
export class WorkerErrorLog {
  private lastLoggedAt = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly queue: string,
    private readonly intervalMs = ERROR_LOG_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  report(error: Error): void {
    const now = this.now();
    if (now - this.lastLoggedAt < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    const repeats = this.suppressed === 0 ? '' : ` (${this.suppressed} more error(s) since the last report)`;
    this.logger.warn(`The worker of ${this.queue} reported an error: ${error.message}${repeats}`);
    this.lastLoggedAt = now;
    this.suppressed = 0;
  }
}
