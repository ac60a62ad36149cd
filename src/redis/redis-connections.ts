import { Cluster, Redis, ReplyError, type ClusterNode, type RedisOptions } from 'ioredis';
import type { RedisOptions as BullMqRedisOptions } from 'bullmq';

/** Location of Redis: a URL, and whether it names a seed node of a Redis Cluster. */
export interface RedisEndpoint {
  /** `redis://` or `rediss://` URL; it may carry a password, so never log it. */
  readonly url: string;
  readonly cluster: boolean;
}

/**
 * An ioredis client that counts the commands it writes to the server, the
 * handshake included. A script call counts as one command, as Redis bills it.
 */
export class CountingRedis extends Redis {
  private sentCommands = 0;

  get commandCount(): number {
    return this.sentCommands;
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    // Commands issued while the socket is not open are rejected by ioredis
    // without being written, because the offline queue is disabled.
    if (this.status === 'connect' || this.status === 'ready') {
      this.sentCommands += 1;
    }
    return super.sendCommand(...args);
  }
}

/**
 * Options of the short-lived connection that one drain call uses.
 *
 * The handshake is trimmed to what the server needs, because every command
 * counts against a hosted Redis quota. RESP2 avoids HELLO. The ready-check
 * INFO, CLIENT SETINFO and CLIENT MAINT_NOTIFICATIONS that ioredis 6 sends by
 * default are skipped; Redis before 7.2 rejects the last two anyway. AUTH is
 * sent when the URL carries a password and SELECT when it names a database
 * other than 0. TLS follows the `rediss://` scheme.
 *
 * The connection fails fast: no reconnection and no offline queue, so a lost
 * connection ends the call with 503 instead of hanging it. Disconnecting
 * destroys the socket at once instead of waiting up to 2 s (the ioredis
 * default) for the server to close it: the call disconnects only after its
 * last reply, or to abandon a server that stopped answering.
 */
export function drainClientOptions(connectTimeoutMs: number) {
  return {
    lazyConnect: true,
    ...drainNodeOptions(connectTimeoutMs),
    maintNotifications: 'disabled',
    enableOfflineQueue: false,
    retryStrategy: () => null,
  } satisfies RedisOptions;
}

/** Returns the options of `drainClientOptions` that also apply to each node of a cluster. */
function drainNodeOptions(connectTimeoutMs: number) {
  return {
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    maxRetriesPerRequest: 0,
    connectTimeout: connectTimeoutMs,
    disconnectTimeout: 0,
  } satisfies RedisOptions;
}

/**
 * An ioredis Cluster that counts the commands it writes to any node, the
 * handshakes included, as `CountingRedis` does for one server.
 *
 * ioredis opens its node connections itself, so the count is taken on each
 * node client as the cluster adds it, and on the short-lived copies that
 * ioredis makes of a node to read the slot map. Connecting adds CLIENT SETNAME
 * and CLUSTER SLOTS on such a copy (ioredis 6 names it `ioredis-cluster(refresher)`),
 * plus AUTH on it and on each node used when the URL carries a password. A
 * MOVED or ASK redirection counts as the second command that it is.
 */
export class CountingCluster extends Cluster {
  private sentCommands = 0;
  private firstNodeError: Error | undefined;

  constructor(startupNodes: ClusterNode[], options: ClusterClientOptions) {
    super(startupNodes, options);
    this.on('+node', (node: Redis) => this.countCommandsOf(node));
  }

  get commandCount(): number {
    return this.sentCommands;
  }

  /**
   * The first error of a node's own connection, such as an untrusted TLS
   * certificate. ioredis reports it for the cluster only as "Connection is
   * closed.".
   */
  get nodeError(): Error | undefined {
    return this.firstNodeError;
  }

  private countCommandsOf(node: Redis): void {
    node.on('error', (error: Error) => {
      this.firstNodeError ??= error;
    });
    const sendCommand = node.sendCommand.bind(node);
    node.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      // A node keeps commands in its offline queue until its socket is open,
      // and sends them again through sendCommand then.
      if (node.status === 'connect' || node.status === 'ready') {
        this.sentCommands += 1;
      }
      return sendCommand(...args);
    };
    const duplicate = node.duplicate.bind(node);
    node.duplicate = (...args: Parameters<Redis['duplicate']>) => {
      const copy = duplicate(...args);
      this.countCommandsOf(copy);
      return copy;
    };
  }
}

/** Options of an ioredis Cluster as its constructor types them. */
type ClusterClientOptions = NonNullable<ConstructorParameters<typeof Cluster<'legacy'>>[1]>;

/** The short-lived client of one drain call or readiness check. */
export type DrainClient = CountingRedis | CountingCluster;

/**
 * Options of the short-lived cluster client, with the same fail-fast
 * behaviour as `drainClientOptions`: no reconnection of the cluster, no
 * offline queue at the cluster level, and no ready check (CLUSTER INFO). Each
 * node gets the drain's trimmed handshake. ioredis keeps an offline queue on
 * every node, because a node connects on its first command, never
 * reconnects a lost node itself, and disables maintenance notifications on
 * nodes.
 */
export function drainClusterOptions(url: string, connectTimeoutMs: number) {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    clusterRetryStrategy: () => null,
    // Reading the slot map opens a connection first, TLS and AUTH included.
    slotsRefreshTimeout: connectTimeoutMs,
    redisOptions: { ...drainNodeOptions(connectTimeoutMs), ...clusterNodeCredentials(url) },
  } satisfies ClusterClientOptions;
}

export function createDrainClient(endpoint: RedisEndpoint, connectTimeoutMs: number): DrainClient {
  if (endpoint.cluster) {
    return new CountingCluster([clusterSeed(endpoint.url)], drainClusterOptions(endpoint.url, connectTimeoutMs));
  }
  return new CountingRedis(endpoint.url, drainClientOptions(connectTimeoutMs));
}

/**
 * Connection options of always-on workers. BullMQ requires
 * `maxRetriesPerRequest: null` for them so that a Redis restart delays
 * commands instead of failing them; ioredis reconnects with its default
 * back-off. The ready check stays on, so that commands wait while a restarted
 * Redis loads its data. The client-info commands are skipped as for the drain.
 *
 * When the URL names a database that the server lacks, ioredis only emits the
 * SELECT error and carries on in database 0, so the workers check the
 * database at start-up (`assertDatabaseExists`).
 */
export function workerConnectionOptions(url: string): BullMqRedisOptions {
  return {
    url,
    maxRetriesPerRequest: null,
    disableClientInfo: true,
    maintNotifications: 'disabled',
  } satisfies RedisOptions & BullMqRedisOptions;
}

/**
 * Returns the `connection` of always-on workers: `workerConnectionOptions`
 * for one server, or an unconnected ioredis Cluster for a cluster.
 *
 * BullMQ 6 builds a plain ioredis client from connection options, so a
 * cluster must be given as a Cluster instance. The workers then share it as
 * their main connection, and each worker adds a copy of it for BZPOPMIN,
 * which it closes itself. BullMQ leaves the shared instance open, so its
 * owner disconnects it at shutdown (`WorkersConnection`). BullMQ requires
 * `maxRetriesPerRequest: null` in `redisOptions`. The cluster reconnects with
 * the ioredis default back-off, and its ready check (CLUSTER INFO) waits
 * until the cluster state is not `fail`.
 */
export function workerConnection(endpoint: RedisEndpoint): BullMqRedisOptions | Cluster {
  if (!endpoint.cluster) {
    return workerConnectionOptions(endpoint.url);
  }
  return new Cluster([clusterSeed(endpoint.url)], {
    lazyConnect: true,
    redisOptions: {
      maxRetriesPerRequest: null,
      disableClientInfo: true,
      ...clusterNodeCredentials(endpoint.url),
    },
  });
}

/** Returns the host and port of a cluster's seed node from a Redis URL. */
export function clusterSeed(url: string): { host: string; port: number } {
  const { hostname, port } = new URL(url);
  // URL keeps the brackets of an IPv6 host, which a socket address must not have.
  return { host: hostname.replace(/^\[(.*)\]$/, '$1'), port: port === '' ? 6379 : Number(port) };
}

/**
 * Returns the user, password and TLS of a Redis URL as node options, which an
 * ioredis Cluster applies to every node. The database is not used: a cluster
 * has only database 0, and the configuration rejects any other.
 */
export function clusterNodeCredentials(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const { protocol, username, password } = new URL(url);
  return {
    ...(username === '' ? {} : { username: decodeURIComponent(username) }),
    ...(password === '' ? {} : { password: decodeURIComponent(password) }),
    ...(protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * Returns why a drain client failed: the message of `error`, and for a
 * cluster the first error of a node's connection when the message lacks it.
 */
export function connectionFailure(client: DrainClient, error: unknown): string {
  const message = redisErrorMessage(error);
  const nodeError = client instanceof CountingCluster ? client.nodeError : undefined;
  if (nodeError === undefined || message.includes(nodeError.message)) {
    return message;
  }
  return `${message} First node error: ${nodeError.message}`;
}

/**
 * Returns the message of a Redis client error. An ioredis Cluster that reaches
 * none of its nodes fails with "Failed to refresh slots cache." and keeps the
 * cause, such as ECONNREFUSED, in `lastNodeError`.
 */
export function redisErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lastNodeError: unknown =
    error instanceof Error ? (error as { lastNodeError?: unknown }).lastNodeError : undefined;
  return lastNodeError instanceof Error ? `${message} Last node error: ${lastNodeError.message}` : message;
}

/** Error replies with which a server rejects commands because of its own state or the client's rights. */
const REJECTION_REPLY =
  /^(NOPERM|LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|OOM|MISCONF)\b|user executing the script can't run this command/;

/**
 * Returns why the server rejected a command because the client has not logged
 * in or lacks the rights, or because of the server's own state (loading,
 * read-only, out of memory), or `undefined` for any other error. When a client
 * that has not logged in sends a command with many arguments, such as the
 * probe, Redis 7 replies "Protocol error: unauthenticated multibulk length"
 * instead of NOAUTH.
 */
export function serverRejection(error: unknown): string | undefined {
  if (!(error instanceof Error) || !(error instanceof ReplyError)) {
    return undefined;
  }
  const message = error.message.replace(/\.$/, '');
  if (/^NOAUTH\b|unauthenticated/.test(message)) {
    return `${message} (the server requires a password: put it in REDIS_URL)`;
  }
  return REJECTION_REPLY.test(message) ? message : undefined;
}

/**
 * Returns whether `error` is the reply to a SELECT of a database that the
 * server does not have. ioredis only emits it as an 'error' event and then
 * carries on in database 0.
 */
export function isMissingDatabaseError(error: Error): boolean {
  return /DB index is out of range/i.test(error.message);
}
