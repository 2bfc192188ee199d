import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readWholeFile, readWholeFileCall, SCRATCH_BYTES } from "./file-read";

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "ngpipe-fileread-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Descriptors this process has open (Linux), to see that every read closes its file. */
function openFds(): number {
  return readdirSync("/proc/self/fd").length;
}

const sizes = [
  0,
  1,
  4096,
  SCRATCH_BYTES - 1,
  SCRATCH_BYTES,
  SCRATCH_BYTES + 1,
  3 * SCRATCH_BYTES + 7,
];

test.each(sizes)("a file of %i bytes reads back whole, in a buffer of its own", async (n) => {
  const bytes = randomBytes(n);
  const p = join(root, `f${n}`);
  writeFileSync(p, bytes);
  const got = await readWholeFile(p);
  expect(Buffer.from(got).equals(bytes)).toBe(true);
  expect(got.byteOffset).toBe(0);
  expect(got.buffer.byteLength).toBe(n);
});

test("many reads at once each get their own bytes (the scratch buffers are not shared)", async () => {
  const files = Array.from({ length: 64 }, (_, i) => {
    const p = join(root, `many${i}`);
    const bytes = randomBytes(100 + 37 * i);
    writeFileSync(p, bytes);
    return { p, bytes };
  });
  const got = await Promise.all(files.map((f) => readWholeFile(f.p)));
  got.forEach((g, i) => {
    expect(Buffer.from(g).equals(files[i].bytes)).toBe(true);
  });
});

test("a missing file, a directory and an aborted read reject, and no descriptor is left open", async () => {
  const dir = join(root, "adir");
  mkdirSync(dir, { recursive: true });
  const p = join(root, "small");
  writeFileSync(p, "abc");
  const before = openFds();
  await expect(readWholeFile(join(root, "nope"))).rejects.toMatchObject({ code: "ENOENT" });
  await expect(readWholeFile(dir)).rejects.toMatchObject({ code: "EISDIR" });
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await expect(readWholeFile(p, ac.signal)).rejects.toThrow("stop");
  // Aborted after the open: the file is still closed.
  const late = new AbortController();
  const pending = readWholeFile(p, late.signal);
  late.abort(new Error("late"));
  await pending.catch(() => {});
  for (let i = 0; i < 20; i++) await readWholeFile(p);
  expect(openFds()).toBe(before);
});

test.each(sizes)(
  "a file of %i bytes read into memory from alloc is that memory, asked for once",
  async (n) => {
    const bytes = randomBytes(n);
    const p = join(root, `a${n}`);
    writeFileSync(p, bytes);
    const asked: number[] = [];
    const slab = new SharedArrayBuffer(n + 64);
    const got = await readWholeFile(p, undefined, (k) => {
      asked.push(k);
      return new Uint8Array(slab, 32, k);
    });
    expect(asked).toEqual([n]);
    expect(got.buffer).toBe(slab);
    expect(got.byteOffset).toBe(32);
    expect(Buffer.from(got).equals(bytes)).toBe(true);
  },
);

test("readWholeFileCall reports once, never before it returns, and closes the file", async () => {
  const p = join(root, "cb");
  writeFileSync(p, "callback");
  const before = openFds();
  const call = (path: string, signal?: AbortSignal) =>
    new Promise<{ error: unknown; data?: Uint8Array; sync: boolean; calls: () => number }>(
      (resolve) => {
        let returned = false;
        let calls = 0;
        readWholeFileCall(path, signal, undefined, (error, data) => {
          calls++;
          resolve({ error, data, sync: !returned, calls: () => calls });
        });
        returned = true;
      },
    );
  const ok = await call(p);
  expect(ok.error).toBeNull();
  expect(ok.sync).toBe(false);
  expect(Buffer.from(ok.data!).toString()).toBe("callback");
  expect((await call(join(root, "absent"))).error).toMatchObject({ code: "ENOENT" });
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  const aborted = await call(p, ac.signal);
  expect(aborted.sync).toBe(false);
  expect((aborted.error as Error).message).toBe("stop");
  await new Promise((r) => setImmediate(r));
  expect(aborted.calls()).toBe(1);
  expect(openFds()).toBe(before);
});
