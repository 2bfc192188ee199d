import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closePool } from "@ngpipe/precomputed";
import { main } from "./program";

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

/** The fixtures of a CLI test file, from {@link cliTestbed}. */
export interface CliTestbed {
  /** The file's temporary directory (made before its first test, removed after its last). */
  readonly tmp: string;
  /** What the current test printed on stdout. */
  readonly out: string;
  /** What the current test printed on stderr. */
  readonly err: string;
  /** Forgets what the current test printed so far. */
  clear(): void;
  /** Runs the command line in this process (with `--quiet` unless the testbed says not). */
  ngpipe(...args: string[]): Promise<number>;
}

/**
 * Sets up a CLI test file: a temporary directory named after `prefix`,
 * captured stdout and stderr per test, and the worker pool closed at the end.
 */
export function cliTestbed(prefix: string, options: { quiet?: boolean } = {}): CliTestbed {
  let tmp = "";
  let out = "";
  let err = "";
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await closePool();
  });
  const clear = () => {
    out = "";
    err = "";
  };
  captureOutput({
    reset: clear,
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  const quiet = options.quiet === false ? [] : ["--quiet"];
  return {
    get tmp() {
      return tmp;
    },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    clear,
    ngpipe: (...args: string[]) => main(["node", "ngpipe", ...quiet, ...args]),
  };
}
