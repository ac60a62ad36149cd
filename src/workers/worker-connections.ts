import type { RedisConnection, Worker } from 'bullmq';

/** The part of an ioredis client that dropping a connection needs. */
interface DisconnectableClient {
  disconnect(): void;
}

/**
 * Ends the Redis connections of a BullMQ worker at once, even while they are
 * still connecting.
 *
 * BullMQ 6.7's `Worker.disconnect()` and the blocking-connection reset inside
 * `Worker.close()` first wait for the connection to finish its start-up
 * handshake. While Redis is unreachable that never happens, so a worker that
 * started during an outage can neither close nor disconnect until Redis is
 * back. This reaches the ioredis clients directly: once they end, BullMQ's
 * pending waits reject and `close()` finishes.
 *
 * NOTE: `_client` is a protected field of BullMQ's `RedisConnection`, read
 * here because no public member returns the client before it is ready. A
 * BullMQ upgrade that renames it turns this into a no-op, which the e2e test
 * of a shutdown during an outage detects.
 */
export function dropWorkerConnections(worker: Worker): void {
  const backend = worker.getBackend();
  for (const connection of [backend.connection, backend.blockingConnection]) {
    clientOf(connection)?.disconnect();
  }
}

function clientOf(connection: RedisConnection | undefined): DisconnectableClient | undefined {
  const client = (connection as unknown as { _client?: Partial<DisconnectableClient> } | undefined)?._client;
  return typeof client?.disconnect === 'function' ? (client as DisconnectableClient) : undefined;
}
