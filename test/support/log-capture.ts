/**
 * Collects what the process writes to stdout and stderr while it is active,
 * split into lines, and keeps it out of the test output.
 */
export class LogCapture {
  readonly lines: string[] = [];
  private readonly restores: (() => void)[] = [];

  static start(): LogCapture {
    const capture = new LogCapture();
    capture.intercept(process.stdout);
    capture.intercept(process.stderr);
    return capture;
  }

  /** Captured lines that are JSON objects, as the JSON log format writes them. */
  get records(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        const value: unknown = JSON.parse(line);
        return isRecord(value) ? [value] : [];
      } catch {
        return [];
      }
    });
  }

  stop(): void {
    this.restores.splice(0).forEach((restore) => restore());
  }

  private intercept(stream: NodeJS.WriteStream): void {
    const original = stream.write.bind(stream);
    stream.write = (chunk: unknown, ...rest: unknown[]) => {
      this.lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line !== ''),
      );
      const callback = rest.find((argument): argument is () => void => typeof argument === 'function');
      callback?.();
      return true;
    };
    this.restores.push(() => {
      stream.write = original;
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
