import { EXIT_CODES, parseCommandLine } from './drain-command';

/** Returns what `action` throws; fails the test when it throws nothing. */
function thrownBy(action: () => unknown): Error & { exitCode?: number } {
  try {
    action();
  } catch (error) {
    return error as Error & { exitCode?: number };
  }
  throw new Error('Expected the action to throw.');
}

describe(parseCommandLine.name, () => {
  describe('when the command line is valid', () => {
    it.each([
      ['no option', ['drain'], {}],
      ['a queue', ['drain', '--queue', 'seed-jobs'], { queues: ['seed-jobs'] }],
      ['a queue after =', ['drain', '--queue=dsar-jobs'], { queues: ['dsar-jobs'] }],
      [
        'the lowest limits',
        ['drain', '--max-duration-ms', '1', '--max-concurrent-queues', '1', '--max-jobs-per-queue', '1'],
        { maxDurationMs: 1, maxConcurrentQueues: 1, maxJobsPerQueue: 1 },
      ],
      [
        'the highest limits',
        ['drain', '--max-duration-ms', '600000', '--max-concurrent-queues', '50'],
        { maxDurationMs: 600_000, maxConcurrentQueues: 50 },
      ],
      ['options before the command', ['--max-jobs-per-queue', '7', 'drain'], { maxJobsPerQueue: 7 }],
    ])('accepts %s', (_case, args, expected) => {
      const invocation = parseCommandLine(args);

      expect(invocation).toEqual({ kind: 'drain', options: expect.objectContaining(expected) });
    });

    it.each([[['--help']], [['-h']], [['drain', '--help']]])('recognises %j as a request for help', (args) => {
      expect(parseCommandLine(args)).toEqual({ kind: 'help' });
    });
  });

  describe('when the command line is invalid', () => {
    it.each([
      ['no command', [], 'Missing command'],
      ['an unknown command', ['drian'], 'Unknown command "drian"'],
      ['a second argument', ['drain', 'now'], 'Unexpected argument "now"'],
      [
        'an unknown flag',
        ['drain', '--dry-run'],
        "Unknown option '--dry-run': the options are --queue, --max-duration-ms, --max-concurrent-queues, --max-jobs-per-queue, --help.",
      ],
      ['a flag without its value', ['drain', '--queue'], "Option '--queue <value>' argument missing"],
      ['a negative value after a space', ['drain', '--max-duration-ms', '-5'], 'ambiguous'],
      ['an empty queue', ['drain', '--queue='], '--queue must be one of'],
      ['an unknown queue', ['drain', '--queue', 'mail-jobs'], '--queue must be one of'],
      [
        'a repeated flag',
        ['drain', '--max-jobs-per-queue', '1', '--max-jobs-per-queue', '2'],
        '--max-jobs-per-queue must be given once',
      ],
      ['an empty number', ['drain', '--max-duration-ms='], '--max-duration-ms must be a whole number from 1 to 600000'],
      ['a word', ['drain', '--max-duration-ms', 'abc'], '--max-duration-ms must be a whole number'],
      ['an exponent', ['drain', '--max-duration-ms', '1e3'], '--max-duration-ms must be a whole number'],
      [
        'a fraction',
        ['drain', '--max-concurrent-queues', '1.5'],
        '--max-concurrent-queues must be a whole number from 1 to 50',
      ],
      [
        'a negative value',
        ['drain', '--max-jobs-per-queue=-3'],
        '--max-jobs-per-queue must be a whole number of at least 1 (at most 9007199254740991)',
      ],
      [
        'zero',
        ['drain', '--max-concurrent-queues', '0'],
        '--max-concurrent-queues must be a whole number from 1 to 50',
      ],
      [
        'a value above the range',
        ['drain', '--max-duration-ms', '600001'],
        '--max-duration-ms must be a whole number from 1 to 600000',
      ],
      ['a padded value', ['drain', '--max-duration-ms', ' 100'], '--max-duration-ms must be a whole number'],
    ])('rejects %s with the usage exit code', (_case, args, message) => {
      const error = thrownBy(() => parseCommandLine(args));

      expect(error.exitCode).toBe(EXIT_CODES.usage);
      expect(error.message).toContain(message);
      expect(error.message).toContain('Run "node dist/cli.js --help" for usage.');
    });

    it('reports every invalid value at once', () => {
      const error = thrownBy(() => parseCommandLine(['drain', '--queue', 'x', '--max-duration-ms', '0']));

      expect(error.message).toContain('--queue must be one of');
      expect(error.message).toContain('--max-duration-ms must be a whole number');
    });
  });
});
