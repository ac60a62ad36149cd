import { Logger, VersioningType, type LoggerService } from '@nestjs/common';
import type { NestApplicationOptions } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

import { setupApiDocs } from './api-docs/api-docs';
import type { AppConfig } from './config/app-config';
import { ConfigurationError, loadAppConfig } from './config/load-app-config';
import { AppLogger, type AppLoggerOptions } from './observability/app-logger';
import { requestIdMiddleware } from './observability/request-context';
import { requestLogMiddleware } from './observability/request-log.middleware';

/**
 * Options for creating the API application. Body parsing is off because no
 * route of the reference application reads a body. The drain endpoint must
 * ignore whatever a scheduler sends, and a body parser would reject a
 * malformed JSON body before the rate limit and the token are checked.
 */
export function apiApplicationOptions(config: AppConfig): NestApplicationOptions {
  return { bodyParser: false, logger: createLogger(config) };
}

/**
 * Routes the API under `/api/v1`, applies the `TRUST_PROXY` setting, gives
 * every request an id and a log line when it fails, and serves the API
 * description unless `API_DOCS_ENABLED` turns it off.
 */
export function configureApiApplication(app: NestExpressApplication, config: AppConfig): void {
  app.setGlobalPrefix('api');
  app.enableVersioning({ type: VersioningType.URI });
  app.set('trust proxy', config.http.trustProxy);
  app.disable('x-powered-by');
  app.use(requestIdMiddleware);
  app.use(requestLogMiddleware);
  if (config.apiDocs.enabled) {
    setupApiDocs(app);
  }
}

/** Creates the application's logger from `LOG_FORMAT` and `LOG_LEVEL`. */
export function createLogger(config: AppConfig, options?: AppLoggerOptions): LoggerService {
  return new AppLogger(config.log, options);
}

/**
 * Validates the environment, with `overrides` taking precedence over its
 * values. This is the only place that reads `process.env`.
 *
 * @throws ConfigurationError naming every invalid variable.
 */
export function loadConfig(overrides: Readonly<Record<string, string>> = {}): AppConfig {
  return loadAppConfig({ ...process.env, ...overrides });
}

/** Validates the environment, or prints what is wrong and exits with code 1. */
export function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigurationError) {
      new Logger('Configuration').error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
