import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';

import { JobHandlerRegistry } from './job-handler.registry';

/**
 * Discovers the `@JobHandler` classes of the whole application. Global, so
 * that the cron and worker modules share one registry.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [JobHandlerRegistry],
  exports: [JobHandlerRegistry],
})
export class QueuesModule {}
