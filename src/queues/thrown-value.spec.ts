import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';

import { NON_ERROR_THROWN } from './queues.messages';
import { THROWN_VALUE_PREVIEW_MAX_LENGTH, thrownValueAsError } from './thrown-value';

describe(thrownValueAsError.name, () => {
  it('returns an Error unchanged', () => {
    const error = new TypeError('bad input');

    expect(thrownValueAsError(error)).toBe(error);
  });

  it('returns an Error of another realm unchanged', () => {
    const error = runInNewContext('new RangeError("elsewhere")') as unknown;

    expect(thrownValueAsError(error)).toBe(error);
  });

  it.each<[string, unknown, string]>([
    ['a string', 'plain string thrown', "'plain string thrown'"],
    ['undefined', undefined, 'undefined'],
    ['null', null, 'null'],
    ['a number', 42, '42'],
    ['a plain object', { code: 'E_PLAIN_OBJECT', retry: false }, "{ code: 'E_PLAIN_OBJECT', retry: false }"],
    ['a string with a line break', 'first\nsecond', "'first\\nsecond'"],
  ])('wraps %s in an Error that shows it', (_, thrown, preview) => {
    const error = thrownValueAsError(thrown);

    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(NON_ERROR_THROWN(preview));
    expect(error.cause).toBe(thrown);
  });

  it('truncates a long value', () => {
    const error = thrownValueAsError('x'.repeat(10_000));

    const preview = /value: (.*)\. Throw an Error/.exec(error.message)?.[1];
    expect(preview).toHaveLength(THROWN_VALUE_PREVIEW_MAX_LENGTH);
    expect(preview?.endsWith('…')).toBe(true);
  });

  it('wraps a proxy whose traps throw', () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error('no prototype');
        },
      },
    );

    expect(thrownValueAsError(hostile).message).toBe(NON_ERROR_THROWN('{}'));
  });

  it('names the type of a value whose inspection throws', () => {
    const hostile = {
      [inspect.custom]() {
        throw new Error('not inspectable');
      },
    };

    expect(thrownValueAsError(hostile).message).toBe(
      NON_ERROR_THROWN('a value of type object that cannot be inspected'),
    );
  });
});
