import { Injectable, Module } from '@nestjs/common';

import { JobHandler } from '../queues/job-handler.decorator';
import { ExampleJobHandler } from './example-job.handler';

@Injectable()
@JobHandler('batch-jobs')
export class BatchJobsExampleHandler extends ExampleJobHandler {}

@Injectable()
@JobHandler('dsar-jobs')
export class DsarJobsExampleHandler extends ExampleJobHandler {}

@Injectable()
@JobHandler('journey-jobs')
export class JourneyJobsExampleHandler extends ExampleJobHandler {}

@Injectable()
@JobHandler('retrain-jobs')
export class RetrainJobsExampleHandler extends ExampleJobHandler {}

@Injectable()
@JobHandler('seed-jobs')
export class SeedJobsExampleHandler extends ExampleJobHandler {}

export const EXAMPLE_HANDLERS = [
  BatchJobsExampleHandler,
  DsarJobsExampleHandler,
  JourneyJobsExampleHandler,
  RetrainJobsExampleHandler,
  SeedJobsExampleHandler,
];

/**
 * Example handlers for the five queues of the reference application. A
 * backend drops this module and registers its own `@JobHandler` classes.
 */
@Module({ providers: EXAMPLE_HANDLERS })
export class ExampleHandlersModule {}
