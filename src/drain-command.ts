import { parseArgs, types, type ParseArgsConfig } from 'node:util';

import { BadRequestException, Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { createLogger, loadConfig } from './app.setup';
import type { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/app-config.module';
import { ConfigurationError } from './config/load-app-config';
import { DrainQueryPipe } from './cron/drain-query.pipe';
import { DRAIN_DEFAULTS, DRAIN_LIMITS, type DrainOptions, type DrainResult } from './cron/drain-result';
import { RedisNotConfiguredError, RedisUnavailableError } from './cron/drain.errors';
import { DrainService } from './cron/drain.service';
import { JobHandlersModule } from './job-handlers.module';
import { QueuesModule } from './queues/queues.module';
import { QUEUE_NAMES } from './queues/queue-names';

/**
 * Exit codes of the CLI. Usage, temporary failure and configuration errors
 * use the BSD `sysexits.h` values, so that a scheduler can tell them apart.
 */
export const EXIT_CODES = {
  /** The call finished; its JSON result is on stdout, even when some jobs failed. */
  ok: 0,
  /** An unexpected error; stderr describes it. */
  failure: 1,
  /** Invalid command, option or option value (EX_USAGE). */
  usage: 64,
  /** Redis is unreachable or the connection was lost during the call; retry later (EX_TEMPFAIL). */
  redisUnavailable: 75,
  /** Invalid environment, such as a missing or malformed REDIS_URL (EX_CONFIG). */
  configuration: 78,
} as const;

/** Command-line flags and the query parameters of the drain endpoint that they set. */
const FLAG_PARAMETERS = {
  queue: 'queue',
  'max-duration-ms': 'maxDurationMs',
  'max-concurrent-queues': 'maxConcurrentQueues',
  'max-jobs-per-queue': 'maxJobsPerQueue',
} as const;

type Flag = keyof typeof FLAG_PARAMETERS;

// Every flag is read as a list, so that a repeated flag is rejected instead
// of silently keeping its last value.
/** Log context of the command's own lines. */
const CONTEXT = 'DrainCommand';

const PARSE_OPTIONS = {
  queue: { type: 'string', multiple: true },
  'max-duration-ms': { type: 'string', multiple: true },
  'max-concurrent-queues': { type: 'string', multiple: true },
  'max-jobs-per-queue': { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Record<Flag | 'help', NonNullable<ParseArgsConfig['options']>[string]>;

/** Wraps words at `width` columns, indenting each continuation line by `indent` spaces. */
function wrapWords(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) {
      lines[lines.length - 1] = `${last} ${word}`;
    } else {
      lines.push(word);
    }
  }
  return lines.join(`\n${' '.repeat(indent)}`);
}

const USAGE = `Usage: node dist/cli.js drain [options]

Processes the runnable jobs of the queues once, prints the same JSON as
POST /api/v1/cron/drain-queues on stdout, and exits. Logs go to stderr.
Settings come from the environment, as for the API: REDIS_URL, QUEUE_KEY_PREFIX,
QUEUE_CONCURRENCY, DRAIN_DEFAULT_QUEUES, LOG_FORMAT, LOG_LEVEL and the others.

Options:
  --queue NAME                One queue to process. Default: the queues in
                              ${wrapWords(`DRAIN_DEFAULT_QUEUES. Queues: ${QUEUE_NAMES.join(', ')}.`, 50, 30)}
  --max-duration-ms N         Hard wall-clock cap for the call in milliseconds,
                              ${DRAIN_LIMITS.maxDurationMs.min} to ${DRAIN_LIMITS.maxDurationMs.max}. Default ${DRAIN_DEFAULTS.maxDurationMs}.
  --max-concurrent-queues N   Queues processed at the same time,
                              ${DRAIN_LIMITS.maxConcurrentQueues.min} to ${DRAIN_LIMITS.maxConcurrentQueues.max}. Default ${DRAIN_DEFAULTS.maxConcurrentQueues}.
  --max-jobs-per-queue N      Jobs taken from one queue, completed plus failed,
                              at least ${DRAIN_LIMITS.maxJobsPerQueue.min}. Default: unbounded.
  -h, --help                  Print this help and exit.

Exit codes:
  ${EXIT_CODES.ok}   the call finished and the JSON result is on stdout
  ${EXIT_CODES.failure}   unexpected error, described on stderr
  ${EXIT_CODES.usage}  invalid command, option or value
  ${EXIT_CODES.redisUnavailable}  Redis is unreachable or the connection was lost; retry later
  ${EXIT_CODES.configuration}  invalid configuration, such as a missing REDIS_URL
`;

/** Failure that ends the CLI with `exitCode` and `message` on stderr. */
class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = CliError.name;
  }
}

/** Command that the command line requests: the help text, or a drain call with its options. */
type Invocation = { readonly kind: 'help' } | { readonly kind: 'drain'; readonly options: DrainOptions };

/**
 * Parses the command line. Option values are checked by the endpoint's own
 * query validation, so the CLI accepts exactly what the query accepts.
 *
 * @throws CliError with the usage exit code when the command line is invalid.
 */
export function parseCommandLine(args: readonly string[]): Invocation {
  const { values, positionals } = parseFlags(args);
  if (values.help === true) {
    return { kind: 'help' };
  }
  const [command, ...extra] = positionals;
  if (command === undefined) {
    throw usageError('Missing command: the only command is "drain".');
  }
  if (command !== 'drain') {
    throw usageError(`Unknown command "${command}": the only command is "drain".`);
  }
  if (extra.length > 0) {
    throw usageError(`Unexpected argument "${extra[0]}": drain takes options only.`);
  }
  return { kind: 'drain', options: toDrainOptions(values) };
}

function parseFlags(args: readonly string[]) {
  try {
    return parseArgs({ args: [...args], options: PARSE_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(describeParseError(error));
  }
}

/**
 * Returns the message of a parseArgs error. For an unknown option it lists the
 * accepted options, because Node's own message explains positional arguments,
 * which drain does not take.
 */
function describeParseError(error: unknown): string {
  // parseArgs throws errors of Node's own realm, which fail `instanceof
  // Error` inside a test sandbox.
  const message = types.isNativeError(error) ? error.message : String(error);
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown === null) {
    return message;
  }
  const options = Object.keys(PARSE_OPTIONS).map((name) => `--${name}`);
  return `Unknown option '${unknown[1]}': the options are ${options.join(', ')}.`;
}

function toDrainOptions(values: Partial<Record<Flag, string[]>>): DrainOptions {
  const query: Record<string, string> = {};
  const problems: string[] = [];
  for (const flag of Object.keys(FLAG_PARAMETERS) as Flag[]) {
    const flagValues = values[flag];
    if (flagValues === undefined) {
      continue;
    }
    if (flagValues.length > 1) {
      problems.push(`--${flag} must be given once.`);
      continue;
    }
    query[FLAG_PARAMETERS[flag]] = flagValues[0]!;
  }
  if (problems.length > 0) {
    throw usageError(problems.join('\n'));
  }

  try {
    return new DrainQueryPipe().transform(query).toDrainOptions();
  } catch (error) {
    if (error instanceof BadRequestException) {
      throw usageError(queryProblems(error).map(namingFlags).join('\n'));
    }
    throw error;
  }
}

function queryProblems(error: BadRequestException): string[] {
  const response = error.getResponse();
  const message = typeof response === 'object' ? (response as { message?: unknown }).message : response;
  return Array.isArray(message) ? message.map(String) : [String(message)];
}

/** Rewrites a query validation message to name the flag instead of the query parameter. */
function namingFlags(problem: string): string {
  for (const [flag, parameter] of Object.entries(FLAG_PARAMETERS)) {
    if (problem.startsWith(`${parameter} `)) {
      return `--${flag}${problem.slice(parameter.length)}`;
    }
  }
  return problem;
}

function usageError(problem: string): CliError {
  return new CliError(EXIT_CODES.usage, `${problem}\nRun "node dist/cli.js --help" for usage.`);
}

/**
 * Module of the one-shot drain: `DrainService` with the job handlers of the
 * application (`JobHandlersModule`, shared with the API and the standalone
 * worker) and no HTTP, no workers and no Redis connection of its own.
 */
@Module({})
export class DrainCommandModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DrainCommandModule,
      imports: [AppConfigModule.forRoot(config), QueuesModule, JobHandlersModule],
      providers: [DrainService],
    };
  }
}

/** Loads the configuration; a CLI never runs always-on workers, so REDIS_URL is checked here instead. */
function loadCommandConfig(): AppConfig {
  let config: AppConfig;
  try {
    config = loadConfig({ WORKER_INPROCESS: '0' });
  } catch (error) {
    if (error instanceof ConfigurationError) {
      throw new CliError(EXIT_CODES.configuration, error.message);
    }
    throw error;
  }
  if (config.redis.url === undefined) {
    throw new CliError(
      EXIT_CODES.configuration,
      'REDIS_URL is not set. Set it to the redis:// or rediss:// URL of the Redis that holds the queues.',
    );
  }
  return config;
}

/**
 * Runs one drain call and returns its result. The first SIGTERM or SIGINT
 * stops the call as its deadline would: running jobs receive their abort
 * signal and are put back, and the result is still returned. A signal that
 * arrives while the application starts ends the command before the call, so
 * it returns `undefined` and no job is taken. A second signal ends the
 * process at once, because the handler is registered only once.
 */
async function runDrain(
  config: AppConfig,
  options: DrainOptions,
  releaseEarlySignals: () => void,
): Promise<DrainResult | undefined> {
  // One logger from the start, so that a signal during start-up is logged in
  // the LOG_FORMAT of the other lines.
  const logger = createLogger(config, { stream: 'stderr' });
  // `close` is set once the application has started.
  const state: { close?: () => Promise<void>; stoppedDuringStartUp: boolean } = { stoppedDuringStartUp: false };
  const onSignal = (signal: NodeJS.Signals) => {
    if (state.close === undefined) {
      state.stoppedDuringStartUp = true;
      logger.log(`Received ${signal} during start-up: exiting before the drain call, no job was taken.`, CONTEXT);
      return;
    }
    logger.log(`Received ${signal}: stopping the drain call and putting running jobs back.`, CONTEXT);
    void state.close();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  releaseEarlySignals();

  const app = await NestFactory.createApplicationContext(DrainCommandModule.forRoot(config), {
    logger,
    abortOnError: false,
  });
  const close = closeOnce(app);
  state.close = close;
  try {
    return state.stoppedDuringStartUp ? undefined : await app.get(DrainService).drain(options);
  } finally {
    await close();
  }
}

function closeOnce(app: INestApplicationContext): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= app.close();
    return closing;
  };
}

function toCliError(error: unknown): CliError {
  if (error instanceof CliError) {
    return error;
  }
  if (error instanceof RedisUnavailableError) {
    return new CliError(EXIT_CODES.redisUnavailable, error.message);
  }
  if (error instanceof RedisNotConfiguredError) {
    return new CliError(EXIT_CODES.configuration, error.message);
  }
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return new CliError(EXIT_CODES.failure, `The drain command failed: ${detail}`);
}

/** Writes `text` and exits once it is flushed, so that a piped stdout is never cut short. */
function writeAndExit(stream: NodeJS.WriteStream, text: string, exitCode: number): void {
  stream.write(text, () => process.exit(exitCode));
}

/**
 * Runs the command line `args` (without `node` and the script) and exits the
 * process. `releaseEarlySignals` removes the entry point's handlers for stop
 * signals that arrive before the command has loaded.
 */
export async function main(args: readonly string[], releaseEarlySignals: () => void = () => undefined): Promise<void> {
  try {
    const invocation = parseCommandLine(args);
    if (invocation.kind === 'help') {
      writeAndExit(process.stdout, USAGE, EXIT_CODES.ok);
      return;
    }
    const config = loadCommandConfig();
    const result = await runDrain(config, invocation.options, releaseEarlySignals);
    writeAndExit(process.stdout, result === undefined ? '' : `${JSON.stringify(result)}\n`, EXIT_CODES.ok);
  } catch (error) {
    const failure = toCliError(error);
    writeAndExit(process.stderr, `${failure.message}\n`, failure.exitCode);
  }
}
