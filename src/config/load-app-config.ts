import { validateSync } from 'class-validator';

import { QUEUE_NAMES } from '../queues/queue-names';
import {
  AppConfig,
  PREVIOUS_TOKEN_VARIABLE,
  TOKEN_VARIABLES,
  type LogFormat,
  type LogLevelSetting,
  type RateLimitStore,
  type TokenVariable,
} from './app-config';
import {
  hasHashTag,
  InvalidValueError,
  parseAddressList,
  parseConcurrency,
  parseFlag,
  parseInteger,
  parseQueueList,
  parseRedisUrl,
  parseTrustProxy,
  redisUrlDatabase,
} from './env-parsers';
import { ENVIRONMENT_VARIABLE_NAMES, EnvironmentVariables } from './environment-variables';

// Control characters (C0 and DEL): Node rejects them in outgoing header values.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** Express default of the reference application: only private-network proxies may set X-Forwarded-For. */
const DEFAULT_TRUST_PROXY = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * Thrown when the environment is invalid. `problems` contains one sentence per
 * invalid variable; none of them contains a secret.
 */
export class ConfigurationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = ConfigurationError.name;
  }
}

/**
 * Validates the environment once and builds the typed configuration.
 *
 * @throws ConfigurationError naming every invalid variable and what it accepts.
 */
export function loadAppConfig(env: Readonly<Record<string, string | undefined>>): AppConfig {
  const variables = readVariables(env);
  const problems = validateSync(variables).flatMap((error) => Object.values(error.constraints ?? {}));
  problems.push(...checkDrainAccess(variables), ...checkRedisCluster(variables));
  if (problems.length > 0) {
    throw new ConfigurationError(problems);
  }

  const inProcess = variables.WORKER_INPROCESS === undefined || parseFlag(variables.WORKER_INPROCESS);
  if (inProcess && variables.REDIS_URL === undefined) {
    throw new ConfigurationError([
      'REDIS_URL is required when WORKER_INPROCESS runs in-process workers. Set REDIS_URL, or set WORKER_INPROCESS=0 to run the API in cron mode.',
    ]);
  }
  return buildConfig(variables, inProcess);
}

function readVariables(env: Readonly<Record<string, string | undefined>>): EnvironmentVariables {
  const variables = new EnvironmentVariables();
  for (const name of ENVIRONMENT_VARIABLE_NAMES) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') {
      variables[name] = value;
    }
  }
  return variables;
}

function buildConfig(variables: EnvironmentVariables, inProcess: boolean): AppConfig {
  const optionalInteger = (value: string | undefined, fallback: number) =>
    value === undefined ? fallback : parseInteger(value, 0, Number.MAX_SAFE_INTEGER);
  const [tokenVariable, token] = selectToken(variables);
  const previousToken =
    tokenVariable === 'DRAIN_QUEUES_TOKEN' ? variables.DRAIN_QUEUES_TOKEN_PREVIOUS?.trim() : undefined;

  return new AppConfig(
    {
      url: variables.REDIS_URL?.trim(),
      keyPrefix: variables.QUEUE_KEY_PREFIX?.trim() ?? 'bull',
      cluster: isClusterMode(variables),
    },
    {
      names: QUEUE_NAMES,
      concurrency: parseConcurrency(variables.QUEUE_CONCURRENCY ?? '1', QUEUE_NAMES),
      lockDurationMs: optionalInteger(variables.QUEUE_LOCK_DURATION_MS, 30_000),
    },
    {
      inProcess,
      queues: variables.WORKER_QUEUES === undefined ? QUEUE_NAMES : parseQueueList(variables.WORKER_QUEUES),
      // 300 s and 120 s keep five idle workers under 6 commands a minute; see docs/BENCHMARKS.md.
      drainDelaySeconds: optionalInteger(variables.WORKER_DRAIN_DELAY_SECONDS, 300),
      stalledIntervalMs: optionalInteger(variables.WORKER_STALLED_INTERVAL_MS, 120_000),
      shutdownGraceMs: optionalInteger(variables.WORKER_SHUTDOWN_GRACE_MS, 10_000),
    },
    {
      token,
      tokenVariable,
      previousToken,
      rateLimitPerMinute: optionalInteger(variables.DRAIN_QUEUES_RATE_LIMIT, 12),
      rateLimitStore: (variables.DRAIN_RATE_LIMIT_STORE as RateLimitStore | undefined) ?? 'memory',
      allowedIps: variables.CRON_ALLOWED_IPS === undefined ? [] : parseAddressList(variables.CRON_ALLOWED_IPS),
      defaultQueues:
        variables.DRAIN_DEFAULT_QUEUES === undefined ? QUEUE_NAMES : parseQueueList(variables.DRAIN_DEFAULT_QUEUES),
      abortGraceMs: optionalInteger(variables.DRAIN_ABORT_GRACE_MS, 2_000),
    },
    {
      port: optionalInteger(variables.PORT, 3_000),
      trustProxy: variables.TRUST_PROXY === undefined ? DEFAULT_TRUST_PROXY : parseTrustProxy(variables.TRUST_PROXY),
    },
    {
      format:
        (variables.LOG_FORMAT as LogFormat | undefined) ?? (variables.NODE_ENV === 'production' ? 'json' : 'pretty'),
      level: (variables.LOG_LEVEL as LogLevelSetting | undefined) ?? 'log',
    },
    { readyCacheMs: optionalInteger(variables.HEALTH_READY_CACHE_MS, 30_000) },
    { enabled: variables.API_DOCS_ENABLED === undefined || parseFlag(variables.API_DOCS_ENABLED) },
    {
      enabled: variables.METRICS_ENABLED !== undefined && parseFlag(variables.METRICS_ENABLED),
      // Trimmed for the same reason as the drain token: mounted secrets often end in a newline.
      token: variables.METRICS_TOKEN?.trim(),
    },
  );
}

/**
 * Picks the first token variable that is set and not blank. Blank values were
 * already dropped by `readVariables`, so an empty DRAIN_QUEUES_TOKEN falls
 * through to CRON_SECRET. The token is trimmed because HTTP strips surrounding
 * whitespace from header values, and secrets mounted from files often end in
 * a newline.
 */
function selectToken(variables: EnvironmentVariables): [TokenVariable | undefined, string | undefined] {
  for (const name of TOKEN_VARIABLES) {
    const value = variables[name];
    if (value !== undefined) {
      return [name, value.trim()];
    }
  }
  return [undefined, undefined];
}

/**
 * Checks the settings of the drain endpoint that depend on each other. The
 * messages name variables only: tokens are secrets.
 */
function checkDrainAccess(variables: EnvironmentVariables): string[] {
  const problems: string[] = [];
  const [tokenVariable, token] = selectToken(variables);
  const previousToken = variables.DRAIN_QUEUES_TOKEN_PREVIOUS;
  if (previousToken !== undefined && tokenVariable !== 'DRAIN_QUEUES_TOKEN') {
    problems.push(
      `${PREVIOUS_TOKEN_VARIABLE} is accepted only while DRAIN_QUEUES_TOKEN is set. Set DRAIN_QUEUES_TOKEN to the new token, or remove ${PREVIOUS_TOKEN_VARIABLE} once every scheduler sends the new one.`,
    );
  }
  for (const [name, value] of [
    [tokenVariable, token],
    [PREVIOUS_TOKEN_VARIABLE, previousToken],
  ] as const) {
    if (name !== undefined && value !== undefined && CONTROL_CHARACTER.test(value.trim())) {
      problems.push(
        `${name} must not contain control characters such as line breaks or tabs, because an HTTP header cannot carry them.`,
      );
    }
  }
  if (variables.DRAIN_RATE_LIMIT_STORE?.trim() === 'redis' && variables.REDIS_URL === undefined) {
    problems.push(
      'DRAIN_RATE_LIMIT_STORE=redis requires REDIS_URL. Set REDIS_URL, or set DRAIN_RATE_LIMIT_STORE=memory to keep the window in the process.',
    );
  }
  return problems;
}

/**
 * Checks the settings that Redis Cluster mode constrains. BullMQ's scripts
 * touch several keys of a queue in one call, and the drain's probe touches
 * keys of every queue it reads, so all of them must hash to one slot.
 */
function checkRedisCluster(variables: EnvironmentVariables): string[] {
  if (!isClusterMode(variables)) {
    return [];
  }
  const problems: string[] = [];
  const prefix = variables.QUEUE_KEY_PREFIX?.trim() ?? 'bull';
  if (!hasHashTag(prefix)) {
    problems.push(
      `QUEUE_KEY_PREFIX must contain a hash tag, such as {bull}, when REDIS_CLUSTER is on (got "${prefix}"), because BullMQ's scripts and the drain's probe touch several keys in one call and Redis Cluster requires them to share a hash slot. Set QUEUE_KEY_PREFIX={bull}, or put braces around your prefix.`,
    );
  }
  const url = variables.REDIS_URL;
  if (url !== undefined && isValidRedisUrl(url) && redisUrlDatabase(url) !== 0) {
    problems.push(
      'REDIS_URL must not name a database other than 0 when REDIS_CLUSTER is on, because Redis Cluster has only database 0. Remove the database number from the URL.',
    );
  }
  return problems;
}

/** Returns whether REDIS_CLUSTER is on; an invalid value counts as off, because validation reports it. */
function isClusterMode(variables: EnvironmentVariables): boolean {
  try {
    return variables.REDIS_CLUSTER !== undefined && parseFlag(variables.REDIS_CLUSTER);
  } catch (error) {
    if (error instanceof InvalidValueError) {
      return false;
    }
    throw error;
  }
}

function isValidRedisUrl(url: string): boolean {
  try {
    parseRedisUrl(url);
    return true;
  } catch {
    return false;
  }
}
