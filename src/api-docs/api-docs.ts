import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

import { SECURITY_SCHEMES } from './api-docs.decorators';

/** Path of the Swagger UI; the JSON document is served at the same path plus `-json`. */
export const API_DOCS_PATH = 'api/docs';

const DESCRIPTION = [
  'Processes the runnable jobs of the BullMQ queues on demand, so that no worker polls Redis between calls.',
  'Send the drain token in one of the three credential headers. Every credential header that is present must carry the token.',
].join(' ');

/** Builds the OpenAPI document of the application's routes. */
export function createApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Cron-drained BullMQ queues')
    .setDescription(DESCRIPTION)
    .setVersion('1')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Cron-Secret' }, SECURITY_SCHEMES.cronSecret)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Cron-Token' }, SECURITY_SCHEMES.cronToken)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <token>' },
      SECURITY_SCHEMES.bearer,
    )
    .build();
  return SwaggerModule.createDocument(app, config);
}

/** Serves the Swagger UI at `/api/docs` and the JSON document at `/api/docs-json`. */
export function setupApiDocs(app: INestApplication): void {
  SwaggerModule.setup(API_DOCS_PATH, app, () => createApiDocument(app), { jsonDocumentUrl: `${API_DOCS_PATH}-json` });
}
