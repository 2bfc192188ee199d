import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fromTyped } from "../array";
import { Bbox } from "../geometry/bbox";
import { closePool } from "../pool";
import { Volume } from "../volume/volume";
import { leaseChunkBytes, returnChunkBytes } from "./shared-bytes";

afterAll(() => closePool());

test("a lease is shared memory of the size asked, reused once given back and only then", () => {
  const a = leaseChunkBytes(5000);
  expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(a.byteLength).toBe(5000);
  const b = leaseChunkBytes(5000);
  expect(b.buffer).not.toBe(a.buffer);
  returnChunkBytes(a);
  // Given back twice: still handed out once.
  returnChunkBytes(a);
  const c = leaseChunkBytes(7000);
  const d = leaseChunkBytes(6000);
  expect(c.buffer).toBe(a.buffer);
  expect(d.buffer).not.toBe(a.buffer);
  expect(d.buffer).not.toBe(b.buffer);
  // Memory that was never leased is not taken.
  const plain = new Uint8Array(5000);
  returnChunkBytes(plain);
  const foreign = new Uint8Array(new SharedArrayBuffer(8192), 0, 5000);
  returnChunkBytes(foreign);
  const e = leaseChunkBytes(5000);
  expect(e.buffer).not.toBe(plain.buffer);
  expect(e.buffer).not.toBe(foreign.buffer);
  expect(leaseChunkBytes(17 * 1024 * 1024).buffer).toBeInstanceOf(ArrayBuffer);
  for (const x of [b, c, d, e]) returnChunkBytes(x);
});

test("shared reads from file:// decode through reused chunk memory, each cutout exact and kept", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ngpipe-leases-"));
  try {
    const shape = [40, 24, 8];
    const vox = Uint8Array.from({ length: 40 * 24 * 8 }, (_, i) => (i * 2654435761) % 253);
    const v = await Volume.fromArray(pathToFileURL(dir).href, fromTyped(vox, shape), {
      chunkSize: [8, 8, 8],
    });
    const boxes = [new Bbox([0, 0, 0], [40, 24, 8]), new Bbox([3, 5, 1], [37, 20, 7])];
    const reads = [];
    for (let round = 0; round < 3; round++)
      for (const box of boxes) reads.push({ box, got: await v.read(box, { shared: true }) });
    for (const { box, got } of reads) {
      expect(got.data.buffer).toBeInstanceOf(SharedArrayBuffer);
      const s = box.size();
      for (let z = 0; z < s[2]; z++)
        for (let y = 0; y < s[1]; y++)
          for (let x = 0; x < s[0]; x++) {
            const want = vox[box.min[0] + x + 40 * (box.min[1] + y + 24 * (box.min[2] + z))];
            if (got.get(x, y, z, 0) !== want) throw new Error(`differs at ${x},${y},${z}`);
          }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
