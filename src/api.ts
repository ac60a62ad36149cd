import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

import { AppModule } from './app.module';
import { apiApplicationOptions, configureApiApplication, loadConfigOrExit } from './app.setup';
import { exitOnStopSignals } from './lifecycle/shutdown-coordinator';

/**
 * Starts the API process, or logs why it could not and exits with code 1.
 *
 * @param releaseEarlySignals Removes the entry point's handlers for stop
 * signals that arrive before the application has loaded.
 */
export async function startApi(releaseEarlySignals: () => void): Promise<void> {
  try {
    const config = loadConfigOrExit();
    const app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot(config),
      apiApplicationOptions(config),
    );
    configureApiApplication(app, config);
    exitOnStopSignals(app);
    releaseEarlySignals();
    await app.listen(config.http.port);
    new Logger('Bootstrap').log(`The API is listening on port ${config.http.port}.`);
  } catch (error) {
    new Logger('Bootstrap').error(
      `The API failed to start: ${String(error)}`,
      error instanceof Error ? error.stack : undefined,
    );
    process.exit(1);
  }
}
