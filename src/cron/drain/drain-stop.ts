/**
 * Why a drain call stops before its queues are idle: the deadline passed, the
 * process is shutting down, or the Redis connection was lost.
 */
export type StopCause = 'maxDuration' | 'shutdown' | 'connectionLost';

/**
 * The stop control of one drain call. Once a stop is requested no job starts,
 * `signal` aborts the running handlers, and `cutoff` resolves after the grace
 * period, when jobs still running are put back. A lost connection cuts off at
 * once, because nothing more can be written to Redis.
 */
export class DrainStop {
  readonly cutoff: Promise<void>;
  /** Resolves when the connection is lost, after which no Redis command can succeed. */
  readonly connectionLost: Promise<void>;
  private readonly controller = new AbortController();
  private resolveCutoff!: () => void;
  private resolveConnectionLost!: () => void;
  private graceTimer: NodeJS.Timeout | undefined;
  private stopCause: StopCause | undefined;

  constructor(private readonly graceMs: number) {
    this.cutoff = new Promise((resolve) => {
      this.resolveCutoff = resolve;
    });
    this.connectionLost = new Promise((resolve) => {
      this.resolveConnectionLost = resolve;
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get cause(): StopCause | undefined {
    return this.stopCause;
  }

  get requested(): boolean {
    return this.stopCause !== undefined;
  }

  request(cause: StopCause): void {
    if (cause === 'connectionLost') {
      this.stopCause = cause;
      this.abort(cause);
      this.cutOff();
      this.resolveConnectionLost();
      return;
    }
    if (this.stopCause !== undefined) {
      return;
    }
    this.stopCause = cause;
    this.abort(cause);
    this.graceTimer = setTimeout(() => this.cutOff(), this.graceMs);
  }

  /** Clears the grace timer. The drain call invokes it once it has returned. */
  dispose(): void {
    clearTimeout(this.graceTimer);
  }

  private abort(cause: StopCause): void {
    if (!this.controller.signal.aborted) {
      this.controller.abort(cause);
    }
  }

  private cutOff(): void {
    clearTimeout(this.graceTimer);
    this.resolveCutoff();
  }
}
