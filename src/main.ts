import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';

import { AppModule } from './app.module';
import { apiApplicationOptions, configureApiApplication, loadConfigOrExit } from './app.setup';
import { exitOnStopSignals } from './lifecycle/shutdown-coordinator';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    apiApplicationOptions(config),
  );
  configureApiApplication(app, config);
  exitOnStopSignals(app);
  await app.listen(config.http.port);
  new Logger('Bootstrap').log(`The API is listening on port ${config.http.port}.`);
}

bootstrap().catch((error: unknown) => {
  new Logger('Bootstrap').error(
    `The API failed to start: ${String(error)}`,
    error instanceof Error ? error.stack : undefined,
  );
  process.exit(1);
});
