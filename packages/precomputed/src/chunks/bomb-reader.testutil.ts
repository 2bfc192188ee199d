/**
 * Run by bomb.test.ts in a child process, so that its peak memory is its
 * own: reads the layer at argv[2] (chunks 0-128 in x valid, 128-256 gzip
 * or brotli bombs), and prints one JSON line: the peak RSS (KiB, from
 * process.resourceUsage) after warming up and after each bomb read, and the
 * name of the error each bomb read threw.
 */
import { closePool, configurePool, Volume } from "@ngpipe/precomputed";

async function main(): Promise<void> {
  configurePool({ threads: 1 });
  const vol = await Volume.open(`file://${process.argv[2]}`);
  // Warm-up: modules, the worker, the storage and codec paths of both reads.
  await vol.read("0-64_0-64_0-64");
  await vol.read("0-128_0-64_0-64");
  const peak = () => process.resourceUsage().maxRSS;
  const baseline = peak();
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => "none",
      (e: Error) => e.name,
    );
  const inline = await errorOf(vol.read("128-192_0-64_0-64"));
  const afterInline = peak();
  const pooled = await errorOf(vol.read("128-256_0-64_0-64"));
  const afterPooled = peak();
  await closePool();
  process.stdout.write(
    `${JSON.stringify({ baseline, inline, afterInline, pooled, afterPooled })}\n`,
  );
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
