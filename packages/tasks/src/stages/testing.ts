/**
 * Helpers of the stages' tests: the FIB-25 cutout, temporary file:// layers,
 * snapshots of every stored byte, and running a task set.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStorage } from "@ngpipe/storage";
import { createTaskContext, executeTask, type TaskContext } from "../runtime";

/** Where the shared test data lives. */
export const FIB25_PATH = join(__dirname, "../../../../../shared/data/fib25-64x64x64-uint64.raw");

/** The 64^3 FIB-25 segmentation cutout (uint64, x fastest). */
export function fib25(): BigUint64Array {
  const bytes = readFileSync(FIB25_PATH);
  const out = new BigUint64Array(64 * 64 * 64);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; url: (sub: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "ngpipe-stages-"));
  return {
    dir,
    url: (sub) => `file://${join(dir, sub)}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Every file under `dir` (relative path → bytes). */
export function snapshotDir(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(p).isDirectory()) walk(p, r);
      else out.set(r, readFileSync(p));
    }
  };
  walk(dir, "");
  return out;
}

/** Execute every payload of a task set in order; returns the results. */
export async function runAll(tasks: Iterable<unknown>, ctx?: TaskContext): Promise<unknown[]> {
  const c = ctx ?? createTaskContext();
  const results: unknown[] = [];
  for (const payload of tasks)
    results.push(await executeTask(JSON.parse(JSON.stringify(payload)), c));
  return results;
}

/** Every stored object under a storage URL: `key:contentEncoding` → stored bytes. */
export async function snapshotStorage(url: string): Promise<Map<string, Uint8Array>> {
  const s = openStorage(url);
  const out = new Map<string, Uint8Array>();
  for await (const key of s.list("", { recursive: true })) {
    const raw = await s.getRaw(key);
    if (raw) out.set(`${key}:${raw.info.contentEncoding ?? ""}`, raw.data);
  }
  return out;
}
