import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { HealthController } from './health.controller';
import { RedisHealthIndicator } from './redis.health-indicator';

/** `GET /api/v1/health` (liveness) and `GET /api/v1/health/ready` (readiness). */
@Module({
  imports: [
    // One line per failed check in both log formats: terminus's 'pretty'
    // style draws a box over many lines, which log search splits apart.
    TerminusModule.forRoot({ errorLogStyle: 'json' }),
  ],
  controllers: [HealthController],
  providers: [RedisHealthIndicator],
})
export class HealthModule {}
