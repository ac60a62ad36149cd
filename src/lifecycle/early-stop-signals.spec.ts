import { exitOnEarlyStopSignals } from './early-stop-signals';

describe(exitOnEarlyStopSignals.name, () => {
  let exit: jest.SpyInstance;

  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation(() => undefined as never);
  });

  afterEach(() => {
    exit.mockRestore();
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s', (signal) => {
    const release = exitOnEarlyStopSignals();
    try {
      process.emit(signal, signal);

      expect(exit).toHaveBeenCalledWith(0);
    } finally {
      release();
    }
  });

  it('removes its listeners when released', () => {
    const before = process.listenerCount('SIGTERM') + process.listenerCount('SIGINT');

    exitOnEarlyStopSignals()();

    expect(process.listenerCount('SIGTERM') + process.listenerCount('SIGINT')).toBe(before);
  });
});
