import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { Registry } from 'prom-client';

import { DrainMetrics } from './drain-metrics';
import { MetricsTokenGuard } from './metrics-token.guard';

/** Security scheme of the metrics endpoint in the API description. */
export const METRICS_SECURITY_SCHEME = 'metricsToken';

/** `GET /api/v1/metrics` in the Prometheus text format. Exists only when `METRICS_ENABLED` is on. */
@ApiTags('metrics')
@SkipThrottle()
@Controller({ path: 'metrics', version: '1' })
@UseGuards(MetricsTokenGuard)
export class MetricsController {
  constructor(private readonly metrics: DrainMetrics) {}

  @ApiOperation({ summary: 'Prometheus metrics of drain calls and of this process. Sends no Redis command.' })
  @ApiBearerAuth(METRICS_SECURITY_SCHEME)
  @ApiOkResponse({ description: 'Prometheus text exposition format.', content: { 'text/plain': {} } })
  @ApiUnauthorizedResponse({ description: 'METRICS_TOKEN is set and the request does not carry it.' })
  @Get()
  @Header('Cache-Control', 'no-store')
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
