import type { DynamicModule } from '@nestjs/common';

import { AppModule } from './app.module';
import { DrainCommandModule } from './drain-command';
import { loadAppConfig } from './config/load-app-config';
import { JobHandlersModule } from './job-handlers.module';
import { StandaloneWorkerModule } from './workers/standalone-worker.module';

describe(JobHandlersModule.name, () => {
  const config = loadAppConfig({ REDIS_URL: 'redis://127.0.0.1:6379' });

  it.each<[string, DynamicModule]>([
    ['the API', AppModule.forRoot(config)],
    ['the standalone worker', StandaloneWorkerModule.forRoot(config)],
    ['the one-shot drain', DrainCommandModule.forRoot(config)],
  ])('is imported by %s', (_entryPoint, rootModule) => {
    expect(rootModule.imports).toContain(JobHandlersModule);
  });
});
