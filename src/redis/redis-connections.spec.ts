import { ReplyError } from 'ioredis';

import { serverRejection } from './redis-connections';

describe(serverRejection.name, () => {
  it.each([
    [
      'NOAUTH Authentication required.',
      'NOAUTH Authentication required (the server requires a password: put it in REDIS_URL)',
    ],
    [
      'ERR Protocol error: unauthenticated multibulk length',
      'ERR Protocol error: unauthenticated multibulk length (the server requires a password: put it in REDIS_URL)',
    ],
    ["READONLY You can't write against a read only replica.", "READONLY You can't write against a read only replica"],
    ['LOADING Redis is loading the dataset in memory', 'LOADING Redis is loading the dataset in memory'],
    ['NOPERM User has no permissions', 'NOPERM User has no permissions'],
  ])('names the refusal %s', (reply, expected) => {
    expect(serverRejection(new ReplyError(reply))).toBe(expected);
  });

  it.each([
    ['a script error', new ReplyError('ERR Error running script (call to f_1): wrong number of arguments')],
    ['an error that is not a reply', new Error('NOAUTH Authentication required.')],
    ['a value that is not an error', 'NOAUTH'],
  ])('returns undefined for %s', (_, error) => {
    expect(serverRejection(error)).toBeUndefined();
  });
});
