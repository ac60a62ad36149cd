import { Controller, Get, HttpCode, HttpStatus, Post, UseFilters, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { ApiDrainEndpoint } from '../api-docs/api-docs.decorators';
import { DrainErrorFilter } from './drain-error.filter';
import { DrainQuery } from './drain-query.decorator';
import { DrainQueryDto } from './drain-query.dto';
import { DrainQueryPipe } from './drain-query.pipe';
import type { DrainResult } from './drain-result';
import { DrainService } from './drain.service';
import { CronTokenGuard } from './guards/cron-token.guard';
import { IpAllowlistGuard } from './guards/ip-allowlist.guard';
import { DrainThrottlerGuard } from './rate-limit/drain-throttler.guard';

/**
 * `POST /api/v1/cron/drain-queues`, and `GET` for schedulers that can only
 * send GET. Checks run in this order: rate limit (429), address allowlist
 * (403), token (401), query (400). With the default in-process rate-limit
 * window none of them sends a Redis command.
 */
@ApiTags('cron')
@Controller({ path: 'cron', version: '1' })
@UseGuards(DrainThrottlerGuard, IpAllowlistGuard, CronTokenGuard)
@UseFilters(DrainErrorFilter)
export class DrainController {
  constructor(private readonly drainService: DrainService) {}

  @ApiOperation({ summary: 'Process the runnable jobs of the queues, then disconnect from Redis.' })
  @ApiDrainEndpoint()
  @Post('drain-queues')
  @HttpCode(HttpStatus.OK)
  drainByPost(@DrainQuery(DrainQueryPipe) query: DrainQueryDto): Promise<DrainResult> {
    return this.drainService.drain(query.toDrainOptions());
  }

  @ApiOperation({
    summary: 'Same as the POST operation, for schedulers that can only send GET.',
  })
  @ApiDrainEndpoint()
  @Get('drain-queues')
  drainByGet(@DrainQuery(DrainQueryPipe) query: DrainQueryDto): Promise<DrainResult> {
    return this.drainService.drain(query.toDrainOptions());
  }
}
