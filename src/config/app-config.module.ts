import { Global, Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';

import { AppConfig } from './app-config';

/**
 * Provides the validated `AppConfig` to every module. The same settings are
 * also available through `@nestjs/config`'s `ConfigService`, typed as
 * `ConfigService<AppConfig, true>` (for example `get('drain', { infer: true })`),
 * for modules of the backend that prefer it. Neither reads `process.env`:
 * the entry points validate it once with `loadAppConfig`.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, skipProcessEnv: true, load: [() => ({ ...config })] })],
      providers: [{ provide: AppConfig, useValue: config }],
      exports: [AppConfig, ConfigModule],
    };
  }
}
