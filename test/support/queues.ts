import { Queue, type JobsOptions } from 'bullmq';
import { Redis, type Cluster } from 'ioredis';

import { QUEUE_NAMES, type QueueName } from '../../src/queues/queue-names';

/**
 * Producers for the five queues under one key prefix, as a backend would add
 * jobs: on the server of a URL, or over an ioredis client of a server or a
 * cluster, which the caller closes.
 */
export class TestQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly redis: string | Redis | Cluster,
    readonly prefix: string,
  ) {}

  get(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      const connection = typeof this.redis === 'string' ? { url: this.redis, maxRetriesPerRequest: null } : this.redis;
      queue = new Queue(name, { connection, prefix: this.prefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Adds `count` jobs with the same data, such as `ExampleJobData` or `RecordedJobData`. */
  async add(name: QueueName, count: number, data: object = {}, options: JobsOptions = {}): Promise<void> {
    await this.get(name).addBulk(
      Array.from({ length: count }, (_, index) => ({ name: `job-${index}`, data, opts: options })),
    );
  }

  async addToAll(count: number, data: object = {}): Promise<void> {
    await Promise.all(QUEUE_NAMES.map((name) => this.add(name, count, data)));
  }

  async counts(name: QueueName): Promise<Record<string, number>> {
    return this.get(name).getJobCounts('wait', 'active', 'completed', 'failed', 'delayed', 'prioritized');
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    this.queues.clear();
  }
}

/** One command as MONITOR reported it. */
export interface RecordedCommand {
  /** Server time of the command, in epoch milliseconds. */
  readonly timeMs: number;
  /** Client address and port, or `lua` for a command that a script ran. */
  readonly source: string;
  /** Command name in lower case. */
  readonly name: string;
  readonly args: readonly string[];
}

/**
 * Records the commands that clients send to Redis with MONITOR. Commands that
 * scripts run inside Redis are left out, so the count is what a hosted Redis
 * bills. The connections that `mark()` opens are left out too, their AUTH
 * included.
 */
export class CommandRecorder {
  private readonly recorded: RecordedCommand[] = [];
  private readonly waiters = new Set<(entry: RecordedCommand) => void>();
  private readonly markerSources = new Set<string>();
  private monitor: Redis | undefined;

  private constructor(private readonly url: string) {}

  /**
   * Starts recording. NOTE: start it while the server is quiet. ioredis 6
   * fails with "Command queue state error" when monitored commands arrive in
   * the same read as the reply to MONITOR.
   */
  static async start(url: string): Promise<CommandRecorder> {
    const recorder = new CommandRecorder(url);
    // ioredis opens MONITOR on a duplicate connection, so the original closes at once.
    const client = new Redis(url);
    const monitor = await client.monitor();
    client.disconnect();
    monitor.on('monitor', (time: string, args: string[], source: string) => {
      const entry = { timeMs: Number(time) * 1_000, source, name: (args[0] ?? '').toLowerCase(), args: args.slice(1) };
      recorder.recorded.push(entry);
      recorder.waiters.forEach((notify) => notify(entry));
    });
    recorder.monitor = monitor;
    // MONITOR reports commands only after its own reply has arrived, so an
    // ECHO sent afterwards by another client marks the start of the recording.
    await recorder.mark();
    return recorder;
  }

  /** Sends an ECHO from a separate client and waits until MONITOR has reported it, so that earlier commands are in `commands`. */
  async mark(): Promise<void> {
    const marker = `mark-${Math.random().toString(36).slice(2)}`;
    const seen = new Promise<void>((resolve) => {
      const onMonitor = (_time: string, args: string[]) => {
        if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) {
          this.monitor?.off('monitor', onMonitor);
          resolve();
        }
      };
      this.monitor?.on('monitor', onMonitor);
    });
    // The marker client skips the handshake commands, and its address is
    // left out of the recording, AUTH included.
    const client = new Redis(this.url, {
      lazyConnect: true,
      protocol: 2,
      enableReadyCheck: false,
      disableClientInfo: true,
      maintNotifications: 'disabled',
    });
    client.on('connect', () => this.markerSources.add(`${client.stream.localAddress}:${client.stream.localPort}`));
    await client.connect();
    await client.echo(marker);
    await seen;
    client.disconnect();
  }

  /** Resolves with the next command, a script's included, that matches. */
  waitFor(matches: (entry: RecordedCommand) => boolean): Promise<RecordedCommand> {
    return new Promise((resolve) => {
      const notify = (entry: RecordedCommand) => {
        if (matches(entry)) {
          this.waiters.delete(notify);
          resolve(entry);
        }
      };
      this.waiters.add(notify);
    });
  }

  /** Client commands recorded since the last `reset()`, without the markers' commands. */
  get entries(): RecordedCommand[] {
    return this.recorded.filter((entry) => entry.source !== 'lua' && !this.markerSources.has(entry.source));
  }

  /** The recorded client commands as text, each cut to 80 characters. */
  get commands(): string[] {
    return this.entries.map((entry) => [entry.name, ...entry.args].join(' ').slice(0, 80));
  }

  get count(): number {
    return this.entries.length;
  }

  /** Client addresses that sent the recorded commands. */
  get sources(): string[] {
    return [...new Set(this.entries.map((entry) => entry.source))];
  }

  /** Commands that scripts ran inside Redis since the last `reset()`. */
  get scriptCommands(): RecordedCommand[] {
    return this.recorded.filter((entry) => entry.source === 'lua');
  }

  reset(): void {
    this.recorded.length = 0;
  }

  stop(): Promise<void> {
    this.monitor?.disconnect();
    return Promise.resolve();
  }
}
