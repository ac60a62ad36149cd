import { ConsoleLogger, Logger, VersioningType, type LoggerService } from '@nestjs/common';
import type { NestApplicationOptions } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';

import type { AppConfig } from './config/app-config';
import { ConfigurationError, loadAppConfig } from './config/load-app-config';

/**
 * Options for creating the API application. Body parsing is off because no
 * route of the reference application reads a body. The drain endpoint must
 * ignore whatever a scheduler sends, and a body parser would reject a
 * malformed JSON body before the rate limit and the token are checked.
 */
export function apiApplicationOptions(config: AppConfig): NestApplicationOptions {
  return { bodyParser: false, logger: createLogger(config) };
}

/** Routes the API under `/api/v1` and applies the `TRUST_PROXY` setting. */
export function configureApiApplication(app: NestExpressApplication, config: AppConfig): void {
  app.setGlobalPrefix('api');
  app.enableVersioning({ type: VersioningType.URI });
  app.set('trust proxy', config.http.trustProxy);
  app.disable('x-powered-by');
}

export function createLogger(config: AppConfig): LoggerService {
  return new ConsoleLogger({ json: config.log.format === 'json', colors: config.log.format === 'pretty' });
}

/**
 * Validates the environment, or prints what is wrong and exits with code 1.
 * This is the only place that reads `process.env`.
 */
export function loadConfigOrExit(): AppConfig {
  try {
    return loadAppConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      new Logger('Configuration').error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
