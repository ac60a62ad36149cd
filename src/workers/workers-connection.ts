import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { RedisOptions as BullMqRedisOptions } from 'bullmq';
import { Cluster } from 'ioredis';

export const WORKERS_CONNECTION = Symbol('WORKERS_CONNECTION');

/**
 * Disconnects the Redis Cluster client that the always-on workers share.
 * BullMQ 6 uses a client instance given as `connection` as every worker's
 * main connection and leaves it open when the workers close, so without this
 * the client would keep reconnecting after shutdown. Connection options for
 * one server need nothing here: each worker opens and closes its own clients.
 */
@Injectable()
export class WorkersConnection implements OnApplicationShutdown {
  constructor(@Inject(WORKERS_CONNECTION) readonly connection: BullMqRedisOptions | Cluster) {}

  // Nest runs this after every beforeApplicationShutdown, so the workers are closed by then.
  onApplicationShutdown(): void {
    if (this.connection instanceof Cluster) {
      this.connection.disconnect();
    }
  }
}
