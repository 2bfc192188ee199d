import { fromTyped } from "../array";
import type { StoredChunk } from "../chunks/store";
import { Bbox } from "../geometry/bbox";
import { closePool } from "../pool";
import { clearSharedCutouts, releaseSharedCutout, takeSharedArray } from "./shared-cutouts";
import { Volume } from "./volume";

afterAll(() => closePool());
afterEach(() => clearSharedCutouts());

let serial = 0;
async function layer(): Promise<{ vol: Volume; data: Uint16Array }> {
  const data = Uint16Array.from({ length: 40 * 30 * 20 }, (_, i) => 1 + (i % 9000));
  const vol = await Volume.fromArray(
    `mem://shared-cutouts-${++serial}/img`,
    fromTyped(data, [40, 30, 20]),
    {
      chunkSize: [16, 16, 8],
    },
  );
  return { vol: await Volume.open(vol.url, { bounded: false, background: 7 }), data };
}

test("a released shared cutout's buffer is reused by the next shared read of its size, with the right voxels", async () => {
  const { vol } = await layer();
  const box = new Bbox([0, 0, 0], [32, 16, 16]);
  const first = await vol.read(box, { shared: true });
  const buffer = first.data.buffer;
  releaseSharedCutout(first);
  const other = new Bbox([8, 14, 4], [40, 30, 20]);
  const second = await vol.read(other, { shared: true });
  expect(second.data.buffer).toBe(buffer);
  const plain = await vol.read(other);
  expect(Array.from(second.data as Uint16Array)).toEqual(Array.from(plain.data as Uint16Array));
});

test("a reused buffer gets the background where the box leaves the dataset, not the old voxels", async () => {
  const { vol } = await layer();
  const inside = new Bbox([0, 0, 0], [32, 16, 16]);
  const first = await vol.read(inside, { shared: true });
  releaseSharedCutout(first);
  // Same size, half outside the dataset in x.
  const half = new Bbox([24, 0, 0], [56, 16, 16]);
  const second = await vol.read(half, { shared: true });
  expect(second.data.buffer).toBe(first.data.buffer);
  expect(second.get(20, 3, 3, 0)).toBe(7);
  expect(second.get(31, 15, 15, 0)).toBe(7);
  const plain = await vol.read(half);
  expect(Array.from(second.data as Uint16Array)).toEqual(Array.from(plain.data as Uint16Array));
});

test("an unreleased cutout is never handed out again, and buffers of another size are not used", async () => {
  const { vol } = await layer();
  const box = new Bbox([0, 0, 0], [16, 16, 8]);
  const kept = await vol.read(box, { shared: true });
  const next = await vol.read(box, { shared: true });
  expect(next.data.buffer).not.toBe(kept.data.buffer);
  releaseSharedCutout(next);
  const bigger = await vol.read(new Bbox([0, 0, 0], [32, 16, 8]), { shared: true });
  expect(bigger.data.buffer).not.toBe(next.data.buffer);
});

test("takeSharedArray hands out a released buffer of its size, and the held bytes stay bounded", () => {
  const a = takeSharedArray("uint64", [16, 16, 4]);
  expect(a.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  expect(a.shape).toEqual([16, 16, 4, 1]);
  releaseSharedCutout(a);
  const b = takeSharedArray("uint32", [32, 16, 4]);
  expect(b.data.buffer).toBe(a.data.buffer);
  expect(takeSharedArray("uint32", [32, 16, 4]).data.buffer).not.toBe(b.data.buffer);
  // Two blocks with their levels fit (8/3 of the largest buffer); a third block pushes the oldest out.
  const block = () => takeSharedArray("uint8", [64, 64, 4]);
  const blocks = [block(), block(), block()];
  const levels = [takeSharedArray("uint8", [32, 32, 4]), takeSharedArray("uint8", [32, 32, 4])];
  for (const x of [blocks[0], levels[0], blocks[1], levels[1]]) releaseSharedCutout(x);
  releaseSharedCutout(blocks[2]);
  const again = [block(), block(), block()].map((x) => x.data.buffer);
  expect(again).toContain(blocks[1].data.buffer);
  expect(again).toContain(blocks[2].data.buffer);
  expect(again).not.toContain(blocks[0].data.buffer);
  expect(takeSharedArray("uint8", [32, 32, 4]).data.buffer).toBe(levels[1].data.buffer);
});

test("a lone chunk of 1 MiB written from a shared array (cut and gzipped in the pool) stores the bytes of an inline write", async () => {
  const shape = [128, 128, 64] as const;
  const voxels = Uint8Array.from(
    { length: shape[0] * shape[1] * shape[2] },
    (_, i) => (i * 7) % 251,
  );
  const shared = takeSharedArray("uint8", [...shape, 1]);
  (shared.data as Uint8Array).set(voxels);
  const n = ++serial;
  const box = new Bbox([0, 0, 0], [...shape]);
  const opts = { chunkSize: [...shape] as [number, number, number] };
  const a = await Volume.fromArray(`mem://lone-shared-${n}/img`, shared, opts);
  const b = await Volume.fromArray(
    `mem://lone-plain-${n}/img`,
    fromTyped(voxels, [...shape]),
    opts,
  );
  releaseSharedCutout(shared);
  const storedOf = async (vol: Volume) => {
    const cells = [...box.chunkCells(vol.chunkSize, vol.scale.voxelOffset, vol.bounds)];
    const out: StoredChunk[] = [];
    await vol.chunks.getMany(cells, (_, chunk) => {
      if (chunk) out.push(chunk);
    });
    return out;
  };
  const [stored] = await storedOf(a);
  const [plain] = await storedOf(b);
  expect(stored.compression).toBe("gzip");
  expect(Buffer.from(stored.bytes).equals(Buffer.from(plain.bytes))).toBe(true);
  expect(Buffer.from((await a.read(box)).data as Uint8Array).equals(Buffer.from(voxels))).toBe(
    true,
  );
});

test("a write from a shared array stores the bytes of a plain write, gzipped into reused shared memory given back once stored", async () => {
  // 128x128x64 chunks of noise gzip to more than the first 1 MiB lease: the
  // first chunks come back in new memory, the rest fit the grown leases.
  const shape = [512, 256, 64] as const;
  let s = 7;
  const voxels = Uint8Array.from({ length: shape[0] * shape[1] * shape[2] }, (_, i) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return i % 3 === 0 ? 5 : s >>> 24;
  });
  const n = ++serial;
  const opts = { chunkSize: [128, 128, 64] as [number, number, number] };
  const plain = await Volume.fromArray(
    `mem://leases-plain-${n}/img`,
    fromTyped(voxels, [...shape]),
    opts,
  );
  const vol = await Volume.fromArray(
    `mem://leases-shared-${n}/img`,
    fromTyped(new Uint8Array(voxels.length), [...shape]),
    opts,
  );
  const shared = takeSharedArray("uint8", [...shape, 1]);
  (shared.data as Uint8Array).set(voxels);
  const onShared: Uint8Array[] = [];
  const released: Uint8Array[] = [];
  const putMany = vol.chunks.putMany.bind(vol.chunks);
  vol.chunks.putMany = (cells, bytesOf, o) =>
    putMany(
      cells,
      async (cell) => {
        const chunk = await bytesOf(cell);
        if (chunk.bytes.buffer instanceof SharedArrayBuffer) onShared.push(chunk.bytes);
        return chunk;
      },
      {
        ...o,
        release: (bytes) => {
          released.push(bytes);
          o?.release?.(bytes);
        },
      },
    );
  await vol.write(new Bbox([0, 0, 0], [...shape]), shared);
  releaseSharedCutout(shared);
  expect(onShared.length).toBeGreaterThan(0);
  expect(onShared.every((b) => released.includes(b))).toBe(true);
  const box = new Bbox([0, 0, 0], [...shape]);
  const cells = [...box.chunkCells(vol.chunkSize, vol.scale.voxelOffset, vol.bounds)];
  const stored = new Map<string, Uint8Array>();
  await plain.chunks.getMany(
    cells,
    (c, chunk) => void stored.set(c.bbox.toChunkName(), chunk!.bytes),
  );
  let same = 0;
  await vol.chunks.getMany(cells, (c, chunk) => {
    if (Buffer.from(chunk!.bytes).equals(Buffer.from(stored.get(c.bbox.toChunkName())!))) same++;
  });
  expect(same).toBe(cells.length);
});
