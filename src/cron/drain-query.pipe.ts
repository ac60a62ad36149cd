import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { validateSync } from 'class-validator';

import { DRAIN_QUERY_PARAMETERS, DrainQueryDto } from './drain-query.dto';

/** Maximum length of a parameter name echoed back in an error message. */
const MAX_ECHOED_NAME_LENGTH = 64;

/**
 * Turns the raw query object into a validated `DrainQueryDto`. Only own keys
 * are read and only known ones are copied, so names such as `__proto__` or
 * `constructor` are reported as unknown instead of reaching the DTO.
 */
@Injectable()
export class DrainQueryPipe implements PipeTransform<unknown, DrainQueryDto> {
  transform(query: unknown): DrainQueryDto {
    const raw = (query ?? {}) as Record<string, unknown>;
    const problems: string[] = [];
    const dto = new DrainQueryDto();

    for (const name of Object.keys(raw)) {
      if ((DRAIN_QUERY_PARAMETERS as readonly string[]).includes(name)) {
        Object.defineProperty(dto, name, { value: raw[name], enumerable: true, writable: true });
        continue;
      }
      const shown = name.length > MAX_ECHOED_NAME_LENGTH ? `${name.slice(0, MAX_ECHOED_NAME_LENGTH)}…` : name;
      problems.push(`Unknown query parameter "${shown}". Accepted parameters: ${DRAIN_QUERY_PARAMETERS.join(', ')}.`);
    }
    for (const error of validateSync(dto, { stopAtFirstError: true })) {
      problems.push(...Object.values(error.constraints ?? {}));
    }

    if (problems.length > 0) {
      throw new BadRequestException(problems);
    }
    return dto;
  }
}
