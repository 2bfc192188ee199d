/**
 * For the CLI's tests: replace stdout and stderr with sinks around each test
 * (beforeEach / afterEach), so a test can assert on what a command printed.
 * Writes with a callback (`write(data, cb)`) get it called, as the real
 * streams do.
 */
export function captureOutput(sinks: {
  /** Called before each test, e.g. to empty the strings the sinks fill. */
  reset: () => void;
  /** Receives stdout; omitted, stdout is discarded. */
  out?: (text: string) => void;
  err: (text: string) => void;
}): void {
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const sink =
    (to: ((text: string) => void) | undefined) =>
    (data: string | Uint8Array, ...rest: unknown[]) => {
      to?.(typeof data === "string" ? data : Buffer.from(data).toString());
      const cb = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      cb?.();
      return true;
    };
  beforeEach(() => {
    sinks.reset();
    process.stdout.write = sink(sinks.out) as typeof process.stdout.write;
    process.stderr.write = sink(sinks.err) as typeof process.stderr.write;
  });
  afterEach(() => {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  });
}
