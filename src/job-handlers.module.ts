import { Module } from '@nestjs/common';

import { ExampleHandlersModule } from './example-handlers/example-handlers.module';

/**
 * The job handlers of this backend, in one place: the API, the standalone
 * worker and the one-shot drain all import this module, so the three entry
 * points always run the same handlers. Replace `ExampleHandlersModule` with
 * the modules that provide your `@JobHandler` classes.
 */
@Module({ imports: [ExampleHandlersModule] })
export class JobHandlersModule {}
