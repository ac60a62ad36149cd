import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';

import { QUEUE_NAMES, type QueueName } from '../../src/queues/queue-names';
import type { ExampleJobData } from '../../src/example-handlers/example-job.handler';

/** Producers for the five queues under one key prefix, as a backend would add jobs. */
export class TestQueues {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly url: string,
    readonly prefix: string,
  ) {}

  get(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: { url: this.url, maxRetriesPerRequest: null }, prefix: this.prefix });
      this.queues.set(name, queue);
    }
    return queue;
  }

  async add(name: QueueName, count: number, data: ExampleJobData = {}, options: JobsOptions = {}): Promise<void> {
    await this.get(name).addBulk(
      Array.from({ length: count }, (_, index) => ({ name: `job-${index}`, data, opts: options })),
    );
  }

  async addToAll(count: number, data: ExampleJobData = {}): Promise<void> {
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

/**
 * Records the commands that clients send to Redis with MONITOR. Commands that
 * scripts run inside Redis are left out, so the count is what a hosted Redis
 * bills.
 */
export class CommandRecorder {
  readonly commands: string[] = [];
  private monitor: Redis | undefined;

  private constructor(private readonly url: string) {}

  static async start(url: string): Promise<CommandRecorder> {
    const recorder = new CommandRecorder(url);
    // ioredis opens MONITOR on a duplicate connection, so the original closes at once.
    const client = new Redis(url);
    const monitor = await client.monitor();
    client.disconnect();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') {
        recorder.commands.push(args.join(' ').slice(0, 80));
      }
    });
    recorder.monitor = monitor;
    // MONITOR reports commands once the reply to MONITOR has arrived; a PING
    // sent after it by another client marks the start of the recording.
    await recorder.mark();
    return recorder;
  }

  /** Sends a PING from a separate client and waits until MONITOR has reported it, so that earlier commands are in `commands`. */
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
    // The marker client skips the handshake commands, so that its ECHO is the
    // only command it adds to the recording.
    const client = new Redis(this.url, {
      protocol: 2,
      enableReadyCheck: false,
      disableClientInfo: true,
      maintNotifications: 'disabled',
    });
    await client.echo(marker);
    await seen;
    client.disconnect();
  }

  /** Commands recorded since the last `reset()`, without the markers' ECHO. */
  get count(): number {
    return this.commands.filter((command) => !/^echo mark-/i.test(command)).length;
  }

  reset(): void {
    this.commands.length = 0;
  }

  stop(): Promise<void> {
    this.monitor?.disconnect();
    return Promise.resolve();
  }
}
