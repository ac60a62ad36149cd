import { ConfigurationError, loadAppConfig } from './load-app-config';

/** The environment of the API in cron mode, plus `env`. */
const load = (env: Record<string, string | undefined>) => loadAppConfig({ WORKER_INPROCESS: '0', ...env });

/** Returns the problems that loading `env` reports; fails the test when it loads. */
function problemsOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigurationError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error('Expected the configuration to be rejected.');
}

describe('operations settings', () => {
  describe('when none is set', () => {
    const sut = load({});

    it('uses the documented defaults', () => {
      expect(sut.log).toEqual({ format: 'pretty', level: 'log' });
      expect(sut.health).toEqual({ readyCacheMs: 30_000 });
      expect(sut.apiDocs).toEqual({ enabled: true });
      expect(sut.metrics).toEqual({ enabled: false, token: undefined });
    });

    it('logs JSON in production', () => {
      expect(load({ NODE_ENV: 'production' }).log.format).toBe('json');
    });
  });

  describe('when they are set', () => {
    it('reads each of them', () => {
      const sut = load({
        LOG_FORMAT: 'pretty',
        LOG_LEVEL: 'debug',
        NODE_ENV: 'production',
        HEALTH_READY_CACHE_MS: '0',
        API_DOCS_ENABLED: 'off',
        METRICS_ENABLED: 'yes',
        METRICS_TOKEN: 'metrics-token\n',
      });

      expect(sut.log).toEqual({ format: 'pretty', level: 'debug' });
      expect(sut.health.readyCacheMs).toBe(0);
      expect(sut.apiDocs.enabled).toBe(false);
      expect(sut.metrics).toEqual({ enabled: true, token: 'metrics-token' });
    });
  });

  describe('when a value is invalid', () => {
    it.each([
      ['LOG_LEVEL', 'info', 'LOG_LEVEL must be one of fatal, error, warn, log, debug, verbose.'],
      ['HEALTH_READY_CACHE_MS', '-1', 'HEALTH_READY_CACHE_MS must be a whole number from 0 to 3600000 (got "-1").'],
      ['HEALTH_READY_CACHE_MS', '3600001', 'HEALTH_READY_CACHE_MS must be a whole number from 0 to 3600000'],
      [
        'API_DOCS_ENABLED',
        'maybe',
        'API_DOCS_ENABLED must be one of 1, true, yes, on, 0, false, no, off (got "maybe").',
      ],
      ['METRICS_ENABLED', '2', 'METRICS_ENABLED must be one of 1, true, yes, on, 0, false, no, off (got "2").'],
    ])('rejects %s=%s', (name, value, message) => {
      expect(problemsOf({ [name]: value })).toEqual([expect.stringContaining(message)]);
    });
  });
});
