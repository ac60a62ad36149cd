import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { AppConfig } from '../config/app-config';
import { HealthController } from './health.controller';
import { RedisHealthIndicator } from './redis.health-indicator';

/** `GET /api/v1/health` (liveness) and `GET /api/v1/health/ready` (readiness). */
@Module({
  imports: [
    TerminusModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ errorLogStyle: config.log.format === 'json' ? 'json' : 'pretty' }),
    }),
  ],
  controllers: [HealthController],
  providers: [RedisHealthIndicator],
})
export class HealthModule {}
