import { applyDecorators } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiInternalServerErrorResponse,
  ApiOkResponse,
  ApiQuery,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

import { DrainQueryDto } from '../cron/drain-query.dto';
import { DrainResultSchema, ErrorResponseSchema } from './drain-response.schemas';

/** Names of the security schemes that the API description declares for the drain token. */
export const SECURITY_SCHEMES = {
  cronSecret: 'cronSecret',
  cronToken: 'cronToken',
  bearer: 'bearer',
} as const;

const retryAfter = (description: string) => ({
  'Retry-After': { description, schema: { type: 'integer', minimum: 1 } },
});

/**
 * Documents the drain endpoint's query parameters, its credentials and every
 * response it sends, in the order in which the endpoint checks a request. The
 * parameters are declared here because the endpoint reads its query with a
 * custom decorator, which the API description does not inspect.
 */
export function ApiDrainEndpoint(): MethodDecorator {
  return applyDecorators(
    ApiQuery({ type: DrainQueryDto }),
    ApiSecurity(SECURITY_SCHEMES.cronSecret),
    ApiSecurity(SECURITY_SCHEMES.cronToken),
    ApiBearerAuth(SECURITY_SCHEMES.bearer),
    ApiOkResponse({ type: DrainResultSchema, description: 'The call finished; the body summarises each queue.' }),
    ApiTooManyRequestsResponse({
      type: ErrorResponseSchema,
      description: 'More than DRAIN_QUEUES_RATE_LIMIT requests from this client in the last 60 seconds.',
      headers: retryAfter('Seconds until a request slot frees.'),
    }),
    ApiForbiddenResponse({ type: ErrorResponseSchema, description: 'The client address is not in CRON_ALLOWED_IPS.' }),
    ApiUnauthorizedResponse({
      type: ErrorResponseSchema,
      description: 'A credential header is missing or wrong, or no drain token is configured.',
    }),
    ApiBadRequestResponse({ type: ErrorResponseSchema, description: 'A query parameter is invalid or unknown.' }),
    ApiInternalServerErrorResponse({ type: ErrorResponseSchema, description: 'REDIS_URL is not configured.' }),
    ApiServiceUnavailableResponse({
      type: ErrorResponseSchema,
      description: 'Redis is unreachable or the connection was lost during the call. No job was lost.',
      headers: retryAfter('Seconds after which a retry may succeed.'),
    }),
  );
}
