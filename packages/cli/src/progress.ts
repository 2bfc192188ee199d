/**
 * Progress reporting for long jobs: a bar with rate and ETA on a terminal,
 * a line every few seconds otherwise (logs of cluster workers), nothing when
 * quiet. Always on stderr, so stdout stays clean for results.
 */
import { createRequire } from "node:module";
import type * as CliProgress from "cli-progress";

let cliProgressModule: typeof CliProgress | undefined;

/** cli-progress, loaded on first use: only a job on a terminal draws a bar, and `--help` starts faster without it. */
function cliProgress(): typeof CliProgress {
  cliProgressModule ??= createRequire(__filename)("cli-progress") as typeof CliProgress;
  return cliProgressModule;
}

/** A progress display for one job. */
export interface Progress {
  /** Set the total once known (task creation is lazy, so it may grow). */
  setTotal(total: number): void;
  /** Count `n` more done. */
  tick(n?: number): void;
  /** Finish the display (prints the final state). */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  quiet?: boolean;
  /** Force the line mode even on a TTY. */
  plain?: boolean;
  /** Seconds between lines in line mode (default 5). */
  intervalSeconds?: number;
  stream?: NodeJS.WriteStream;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A progress display labelled `label`. */
export function createProgress(label: string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (options.quiet) return { setTotal() {}, tick() {}, stop() {} };
  const started = Date.now();
  let done = 0;
  let total = 0;
  if (stream.isTTY && !options.plain) {
    const { SingleBar, Presets } = cliProgress();
    const bar = new SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {percentage}% | {rate}/s | ETA {eta_formatted}`,
        stream,
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    bar.start(0, 0, { rate: "0" });
    const rate = () => (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
    return {
      setTotal(t) {
        total = t;
        bar.setTotal(t);
      },
      tick(n = 1) {
        done += n;
        bar.update(done, { rate: rate() });
      },
      stop() {
        bar.update(done, { rate: rate() });
        bar.stop();
      },
    };
  }
  const interval = (options.intervalSeconds ?? 5) * 1000;
  let last = 0;
  const line = (final: boolean) => {
    const elapsed = (Date.now() - started) / 1000;
    const r = done / Math.max(0.001, elapsed);
    const pct = total > 0 ? ` (${((100 * done) / total).toFixed(1)}%)` : "";
    const eta = total > 0 && !final ? ` ETA ${formatDuration((total - done) / r)}` : "";
    stream.write(
      `${label}: ${done}${total ? `/${total}` : ""}${pct} ${r.toFixed(1)}/s${eta}${final ? ` in ${formatDuration(elapsed)}` : ""}\n`,
    );
  };
  return {
    setTotal(t) {
      total = t;
    },
    tick(n = 1) {
      done += n;
      const now = Date.now();
      if (now - last >= interval) {
        last = now;
        line(false);
      }
    },
    stop() {
      line(true);
    },
  };
}
