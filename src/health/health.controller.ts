import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { SkipThrottle } from '@nestjs/throttler';

import { RedisHealthIndicator } from './redis.health-indicator';

/**
 * Liveness and readiness. Neither needs a token, and the drain endpoint's
 * rate limit does not apply to them.
 */
@ApiTags('health')
@SkipThrottle()
@Controller({ path: 'health', version: '1' })
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
  ) {}

  @ApiOperation({ summary: 'Liveness: 200 while the process serves HTTP. Sends no Redis command.' })
  @Get()
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @ApiOperation({
    summary: 'Readiness: 200 when Redis answers PING, 503 otherwise or while shutting down.',
    description:
      'A fresh check sends one Redis command (plus AUTH or SELECT when the URL needs them); results are reused for HEALTH_READY_CACHE_MS.',
  })
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.redis.isReady()]);
  }
}
