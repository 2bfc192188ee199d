import { decodeCompressedSegmentation } from "./compressed_segmentation_decode";
import {
  freshWords,
  SHARED_OUTPUT_BUDGET,
  SHARED_OUTPUT_BYTES,
  sharedOutputBuffer,
  sharedOutputMemory,
  useSharedOutput,
} from "./fresh_words";

test("only outputs of 64 MiB or more, within the budget, go on shared memory", () => {
  expect(useSharedOutput(SHARED_OUTPUT_BYTES - 4, 0)).toBe(false);
  expect(useSharedOutput(SHARED_OUTPUT_BYTES, 0)).toBe(true);
  expect(useSharedOutput(SHARED_OUTPUT_BYTES, SHARED_OUTPUT_BUDGET - SHARED_OUTPUT_BYTES)).toBe(
    true,
  );
  // A process already holding the budget gets ordinary buffers, so V8 collects.
  expect(useSharedOutput(SHARED_OUTPUT_BYTES, SHARED_OUTPUT_BUDGET)).toBe(false);
});

test("small fresh words own an ordinary ArrayBuffer that can be transferred", () => {
  const w = freshWords(1000);
  expect(w.length).toBe(1000);
  expect(w.buffer).toBeInstanceOf(ArrayBuffer);
  expect(w.byteOffset).toBe(0);
  expect(w.buffer.byteLength).toBe(4000);
  const moved = structuredClone(w, { transfer: [w.buffer as ArrayBuffer] });
  expect(moved.length).toBe(1000);
  expect(w.length).toBe(0);
});

test("a decode of 64 MiB comes back on a SharedArrayBuffer with every voxel right", () => {
  if (process.memoryUsage().arrayBuffers + SHARED_OUTPUT_BYTES > SHARED_OUTPUT_BUDGET) {
    console.log("skipped: this jest worker already holds the shared-output budget");
    return;
  }
  // 256 x 256 x 128 uint64 = 64 MiB, written by hand: every 8^3 block is
  // uniform (0 bits), the blocks of block-plane kz all naming the table entry
  // kz + 1 (label kz + 1, high word 2^8).
  const shape = [256, 256, 128, 1] as const;
  const nblocks = 32 * 32 * 16;
  const tables = 1 + 2 * nblocks;
  const encoded = new Uint32Array(tables + 2 * 16);
  encoded[0] = 1;
  for (let b = 0; b < nblocks; b++) {
    encoded[1 + 2 * b] = tables - 1 + 2 * Math.floor(b / 1024);
    encoded[2 + 2 * b] = tables - 1;
  }
  for (let kz = 0; kz < 16; kz++) {
    encoded[tables + 2 * kz] = kz + 1;
    encoded[tables + 2 * kz + 1] = 256;
  }
  const out = decodeCompressedSegmentation(
    new Uint8Array(encoded.buffer),
    shape,
    [8, 8, 8],
    "uint64",
  );
  expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(out.length).toBe(2 * 256 * 256 * 128);
  let wrong = 0;
  for (let i = 0; i < out.length; i += 2)
    if (out[i] !== Math.floor(i / (2 * 256 * 256 * 8)) + 1 || out[i + 1] !== 256) wrong++;
  expect(wrong).toBe(0);
});

test("output memories count toward the budget and in process.memoryUsage(), at no cost in RAM", () => {
  expect(sharedOutputMemory(SHARED_OUTPUT_BYTES - 4, 1000)).toBeUndefined();
  // Garbage of earlier suites in this jest worker, freed by a collection
  // between two readings, would lower a delta: collect it first, and judge
  // each memory by the delta around its own allocation.
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  const held = [];
  const deltas: number[] = [];
  // Each is 64 MiB of output and a page of working space; untouched, so no RSS.
  for (let i = 0; i < 32; i++) {
    const a = process.memoryUsage().arrayBuffers;
    const m = sharedOutputMemory(SHARED_OUTPUT_BYTES, 1000);
    if (!m) break;
    deltas.push(process.memoryUsage().arrayBuffers - a);
    expect(m.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(m.buffer.byteLength).toBeGreaterThanOrEqual(SHARED_OUTPUT_BYTES + 1000);
    held.push(m);
  }
  // The budget (1 GiB, less what the worker already holds) ran out before 32,
  // and then neither kind of shared output is given.
  expect(held.length).toBeGreaterThan(0);
  expect(held.length).toBeLessThan(SHARED_OUTPUT_BUDGET / SHARED_OUTPUT_BYTES);
  expect(sharedOutputBuffer(SHARED_OUTPUT_BYTES)).toBeUndefined();
  // Each memory's ledger entry is counted as array-buffer memory...
  expect(Math.max(...deltas)).toBeGreaterThanOrEqual(SHARED_OUTPUT_BYTES + 1000);
  const after = process.memoryUsage();
  // ...without being resident (neither the entries nor the memories were touched).
  expect(after.rss - before.rss).toBeLessThan(SHARED_OUTPUT_BYTES);
});
