import { ConsoleLogger, type LogLevel } from '@nestjs/common';

import { LOG_LEVELS, type LogSettings } from '../config/app-config';
import { currentRequestId } from './request-context';

export interface AppLoggerOptions {
  /**
   * Stream for every level. By default Nest writes errors to stderr and the
   * rest to stdout; the CLI sends everything to stderr so that stdout carries
   * only its JSON result.
   */
  readonly stream?: 'stdout' | 'stderr';
}

/**
 * Nest's `ConsoleLogger` with the application's settings: JSON lines or
 * readable lines, a level threshold, structured fields at the top level of a
 * JSON line, and the id of the current HTTP request on every line written
 * while that request runs.
 */
export class AppLogger extends ConsoleLogger {
  private readonly stream: 'stdout' | 'stderr' | undefined;

  constructor(settings: LogSettings, options: AppLoggerOptions = {}) {
    const json = settings.format === 'json';
    super({
      json,
      // Colors only on a terminal, so that collected logs carry no escape codes.
      colors: !json && process[options.stream ?? 'stdout'].isTTY === true,
      logLevels: enabledLevels(settings.level),
      flattenParams: true,
      // Defence in depth: the application never logs these, but a backend's handler might.
      redact: ['authorization', 'x-cron-secret', 'x-cron-token', 'token', 'password'],
    });
    this.stream = options.stream;
  }

  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: LogLevel,
    writeStreamType?: 'stdout' | 'stderr',
    errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    super.printMessages(messages, context, logLevel, this.stream ?? writeStreamType, errorStack, params);
  }

  protected override getJsonLogObject(
    message: unknown,
    options: Parameters<ConsoleLogger['getJsonLogObject']>[1],
  ): ReturnType<ConsoleLogger['getJsonLogObject']> {
    const logObject = super.getJsonLogObject(message, options);
    const requestId = currentRequestId();
    return requestId === undefined ? logObject : { ...logObject, requestId };
  }

  protected override formatContext(context: string): string {
    const requestId = currentRequestId();
    const formatted = super.formatContext(context);
    return requestId === undefined ? formatted : `${formatted}[request ${requestId}] `;
  }
}

/** Returns the levels at least as severe as `threshold`, the form Nest's `logLevels` option takes. */
export function enabledLevels(threshold: LogSettings['level']): LogLevel[] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(threshold) + 1);
}
