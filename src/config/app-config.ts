import type { QueueName } from '../queues/queue-names';

/** Names of the environment variables that may carry the drain token, in priority order. */
export const TOKEN_VARIABLES = ['DRAIN_QUEUES_TOKEN', 'CRON_SECRET', 'CRON_TOKEN'] as const;

export type TokenVariable = (typeof TOKEN_VARIABLES)[number];

/** Variable of the previous drain token, accepted next to `DRAIN_QUEUES_TOKEN` while the token is rotated. */
export const PREVIOUS_TOKEN_VARIABLE = 'DRAIN_QUEUES_TOKEN_PREVIOUS';

/** Stores of the drain endpoint's rate-limit window: the process, or Redis shared by every replica. */
export const RATE_LIMIT_STORES = ['memory', 'redis'] as const;

export type RateLimitStore = (typeof RATE_LIMIT_STORES)[number];

/**
 * Express `trust proxy` value: a boolean, a hop count, or a list of addresses,
 * CIDR ranges and the names `loopback`, `linklocal` and `uniquelocal`.
 */
export type TrustProxySetting = boolean | number | readonly string[];

export type LogFormat = 'json' | 'pretty';

/** Nest log levels from the most to the least severe; `LOG_LEVEL` names the least severe one printed. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

export type LogLevelSetting = (typeof LOG_LEVELS)[number];

export interface RedisSettings {
  /** `redis://` or `rediss://` URL. It may carry a password: never log it. */
  readonly url: string | undefined;
  /** BullMQ key prefix. A hash tag such as `{bull}` keeps all queues in one Redis Cluster slot. */
  readonly keyPrefix: string;
  /**
   * Whether `url` names a seed node of a Redis Cluster (`REDIS_CLUSTER`). The
   * URL's user, password and TLS then apply to every node. Default false.
   */
  readonly cluster: boolean;
}

export interface QueueSettings {
  /** Every queue of the application, in the order responses list them. */
  readonly names: readonly QueueName[];
  /** Jobs processed at the same time per queue, by both modes. */
  readonly concurrency: Readonly<Record<QueueName, number>>;
  /** How long a job stays locked without renewal before it counts as stalled. */
  readonly lockDurationMs: number;
}

export interface WorkerSettings {
  /** Whether the API process runs always-on BullMQ workers. */
  readonly inProcess: boolean;
  /** Queues that get an always-on worker, in the API process or the standalone worker. */
  readonly queues: readonly QueueName[];
  /**
   * Seconds a worker blocks on an empty queue before it polls again. A new job
   * wakes a blocked worker at once, so a long delay only saves commands.
   */
  readonly drainDelaySeconds: number;
  /** Interval of the stalled-job check; a crashed job waits at most about twice this long. */
  readonly stalledIntervalMs: number;
  /** Time that running jobs get to finish after SIGTERM or SIGINT before they are put back. */
  readonly shutdownGraceMs: number;
}

export interface DrainSettings {
  /** Expected token, or `undefined` when none of the token variables is set. */
  readonly token: string | undefined;
  /** Variable the token was read from, for the start-up log; never the token itself. */
  readonly tokenVariable: TokenVariable | undefined;
  /**
   * Token that is accepted next to the expected one while the token is
   * rotated (`DRAIN_QUEUES_TOKEN_PREVIOUS`). Only set when the expected token
   * comes from `DRAIN_QUEUES_TOKEN`.
   */
  readonly previousToken: string | undefined;
  /** Requests per minute per client address, sliding window. Default 12. */
  readonly rateLimitPerMinute: number;
  /**
   * Store of the rate-limit window. Default `memory`: per process, no Redis
   * command. `redis`: shared by every replica, one Redis command per
   * request.
   */
  readonly rateLimitStore: RateLimitStore;
  /** Addresses and CIDR ranges allowed to call; empty means no address check. */
  readonly allowedIps: readonly string[];
  /** Queues a drain call processes when the request names none. */
  readonly defaultQueues: readonly QueueName[];
  /** Time that running jobs get to stop after the deadline before they are put back. */
  readonly abortGraceMs: number;
}

export interface HttpSettings {
  readonly port: number;
  readonly trustProxy: TrustProxySetting;
}

export interface LogSettings {
  /** `json` (one object per line) or `pretty` (readable lines). Default `json` when `NODE_ENV=production`. */
  readonly format: LogFormat;
  /** Least severe level printed; `log` by default, so `debug` and `verbose` lines are dropped. */
  readonly level: LogLevelSetting;
}

export interface HealthSettings {
  /**
   * How long a readiness result is reused, in ms. Each fresh check sends one
   * Redis command, so this bounds the cost of frequent polling. Default 30 000.
   */
  readonly readyCacheMs: number;
}

export interface ApiDocsSettings {
  /** Whether `/api/docs` and `/api/docs-json` are served. Default true. */
  readonly enabled: boolean;
}

export interface MetricsSettings {
  /** Whether the Prometheus endpoint `/api/v1/metrics` exists. Default false. */
  readonly enabled: boolean;
  /** Bearer token that scrapers must send, or `undefined` for an open endpoint. Never log it. */
  readonly token: string | undefined;
}

/**
 * Validated configuration of the application, built once at start-up by
 * `loadAppConfig` and injected wherever it is needed.
 */
export class AppConfig {
  constructor(
    readonly redis: RedisSettings,
    readonly queues: QueueSettings,
    readonly workers: WorkerSettings,
    readonly drain: DrainSettings,
    readonly http: HttpSettings,
    readonly log: LogSettings,
    readonly health: HealthSettings,
    readonly apiDocs: ApiDocsSettings,
    readonly metrics: MetricsSettings,
  ) {}
}
