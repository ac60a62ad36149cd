export const DUPLICATE_HANDLER = (queue: string, first: string, second: string) =>
  `Queue "${queue}" has two job handlers: ${first} and ${second}. Keep exactly one @JobHandler('${queue}') class.`;

export const UNKNOWN_HANDLER_QUEUE = (handler: string, queue: string, known: readonly string[]) =>
  `${handler} is a @JobHandler for queue "${queue}", which is not configured. Use one of: ${known.join(', ')}.`;

export const HANDLER_WITHOUT_HANDLE = (handler: string) =>
  `${handler} is a @JobHandler but has no handle(job, signal) method. Implement QueueJobHandler.`;

export const SCOPED_HANDLER = (handler: string) =>
  `${handler} is a @JobHandler but is request- or transient-scoped. Job handlers must be singletons; remove the scope option.`;

export const NON_ERROR_THROWN = (preview: string) =>
  `The job handler threw a non-Error value: ${preview}. Throw an Error instead, so that the job keeps a stack trace.`;
