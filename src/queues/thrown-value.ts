import { inspect, types } from 'node:util';

import { NON_ERROR_THROWN } from './queues.messages';

/** Maximum length, in characters, of the preview of a thrown value in a job's failed reason. */
export const THROWN_VALUE_PREVIEW_MAX_LENGTH = 200;

/**
 * Returns what a handler threw as an `Error`, wrapping any other value.
 *
 * BullMQ 6.7 reads `err.message` and `err.name` of whatever the processor
 * throws: a string or a plain object fails the job with an empty reason, and
 * `undefined` or `null` makes recording the failure itself throw, which
 * leaves the job active and locked until its lock expires. The wrapper's
 * message shows the value, and its `cause` is the value itself.
 */
export function thrownValueAsError(thrown: unknown): Error {
  if (isError(thrown)) {
    return thrown;
  }
  return new Error(NON_ERROR_THROWN(previewOf(thrown)), { cause: thrown });
}

/** Accepts the errors of other realms too, such as those of a `vm` context. */
function isError(value: unknown): value is Error {
  if (types.isNativeError(value)) {
    return true;
  }
  try {
    return value instanceof Error;
  } catch {
    // A proxy whose getPrototypeOf trap throws.
    return false;
  }
}

function previewOf(value: unknown): string {
  let preview: string;
  try {
    preview = inspect(value, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
  } catch {
    // A custom inspect method threw.
    return `a value of type ${typeof value} that cannot be inspected`;
  }
  if (preview.length <= THROWN_VALUE_PREVIEW_MAX_LENGTH) {
    return preview;
  }
  return `${preview.slice(0, THROWN_VALUE_PREVIEW_MAX_LENGTH - 1)}…`;
}
