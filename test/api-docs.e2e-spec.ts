import request from 'supertest';

import { QUEUE_NAMES } from '../src/queues/queue-names';
import { createTestApp, type TestApp } from './support/test-app';

const DRAIN_PATH = '/api/v1/cron/drain-queues';

interface OpenApiOperation {
  parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }>; headers?: object }>;
  security: Record<string, string[]>[];
}

interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: {
    schemas: Record<string, { properties: Record<string, Record<string, unknown>> }>;
    securitySchemes: object;
  };
}

describe('API description', () => {
  let testApp: TestApp;

  afterEach(async () => {
    await testApp.close();
  });

  describe('when API_DOCS_ENABLED is not set', () => {
    let document: OpenApiDocument;

    beforeEach(async () => {
      testApp = await createTestApp({});
      const response = await request(testApp.app.getHttpServer()).get('/api/docs-json').expect(200);
      document = response.body as OpenApiDocument;
    });

    it('serves the Swagger UI', async () => {
      const response = await request(testApp.app.getHttpServer()).get('/api/docs').expect(200);

      expect(response.headers['content-type']).toContain('text/html');
    });

    it.each(['post', 'get'])('describes the drain endpoint for %s', (method) => {
      const operation = document.paths[DRAIN_PATH]?.[method];

      expect(operation).toBeDefined();
      expect(Object.keys(operation!.responses).sort()).toEqual(['200', '400', '401', '403', '429', '500', '503']);
      expect(operation!.security).toEqual([{ cronSecret: [] }, { cronToken: [] }, { bearer: [] }]);
    });

    it('lists the query parameters with their rules', () => {
      const parameters = Object.fromEntries(
        document.paths[DRAIN_PATH]!.post!.parameters.map((parameter) => [parameter.name, parameter]),
      );

      expect(Object.keys(parameters).sort()).toEqual([
        'maxConcurrentQueues',
        'maxDurationMs',
        'maxJobsPerQueue',
        'queue',
      ]);
      expect(Object.values(parameters).every((parameter) => parameter.in === 'query' && !parameter.required)).toBe(
        true,
      );
      expect(parameters.queue!.schema).toMatchObject({ type: 'string', enum: [...QUEUE_NAMES] });
      expect(parameters.maxDurationMs!.schema).toMatchObject({
        type: 'integer',
        minimum: 1,
        maximum: 600_000,
        default: 60_000,
      });
      expect(parameters.maxConcurrentQueues!.schema).toMatchObject({
        type: 'integer',
        minimum: 1,
        maximum: 50,
        default: 2,
      });
      expect(parameters.maxJobsPerQueue!.schema).toMatchObject({ type: 'integer', minimum: 1 });
    });

    it('declares the three credential headers', () => {
      expect(document.components.securitySchemes).toMatchObject({
        cronSecret: { type: 'apiKey', in: 'header', name: 'X-Cron-Secret' },
        cronToken: { type: 'apiKey', in: 'header', name: 'X-Cron-Token' },
        bearer: { type: 'http', scheme: 'bearer' },
      });
    });

    it('gives the schema of the 200 body', () => {
      const ok = document.paths[DRAIN_PATH]!.post!.responses['200']!;
      const resultSchema = document.components.schemas.DrainResultSchema!;
      const queueSchema = document.components.schemas.QueueDrainResultSchema!;

      expect(ok.content?.['application/json']?.schema).toEqual({ $ref: '#/components/schemas/DrainResultSchema' });
      expect(Object.keys(resultSchema.properties).sort()).toEqual([
        'durationMs',
        'queues',
        'redisCommands',
        'startedAt',
        'stoppedBy',
      ]);
      expect(resultSchema.properties.queues).toMatchObject({
        type: 'object',
        additionalProperties: { $ref: '#/components/schemas/QueueDrainResultSchema' },
      });
      expect(Object.keys(queueSchema.properties).sort()).toEqual([
        'delayed',
        'failed',
        'idleAt',
        'nextDueInMs',
        'processed',
        'remaining',
        'stoppedBy',
      ]);
      expect(queueSchema.properties.stoppedBy!.enum).toEqual([
        'idle',
        'maxJobs',
        'maxDuration',
        'paused',
        'noHandler',
        'error',
      ]);
    });

    it('documents Retry-After on 429 and 503', () => {
      const responses = document.paths[DRAIN_PATH]!.post!.responses;

      expect(responses['429']!.headers).toHaveProperty('Retry-After');
      expect(responses['503']!.headers).toHaveProperty('Retry-After');
    });

    it('describes the health endpoints', () => {
      expect(document.paths['/api/v1/health']?.get).toBeDefined();
      expect(document.paths['/api/v1/health/ready']?.get).toBeDefined();
    });
  });

  describe('when API_DOCS_ENABLED is 0', () => {
    it('serves neither the UI nor the JSON', async () => {
      testApp = await createTestApp({ API_DOCS_ENABLED: '0' });

      await request(testApp.app.getHttpServer()).get('/api/docs').expect(404);
      await request(testApp.app.getHttpServer()).get('/api/docs-json').expect(404);
    });
  });
});
