import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { brotliDecompressSync, gunzipSync, gzipSync } from "node:zlib";
import { DecompressionError } from "@ngpipe/storage";
import { crop, fromTyped } from "../array";
import { encodeChunk } from "../codecs/registry";
import type { ChunkContext } from "../codecs/types";
import { ChunkDecodeError } from "../errors";
import { Bbox } from "../geometry/bbox";
import { closePool } from "../pool";
import { takeSharedArray } from "../volume/shared-cutouts";
import { Volume } from "../volume/volume";
import {
  decodeStoredChunk,
  decodeStoredChunkInto,
  encodeStoredChunk,
  encodeStoredChunkFrom,
} from "./stored";

afterAll(() => closePool());

const ctx: ChunkContext = { dtype: "uint32", shape: [8, 8, 4, 1], blockSize: [4, 4, 4], key: "k" };

function labels(): Uint32Array {
  const a = new Uint32Array(8 * 8 * 4);
  for (let i = 0; i < a.length; i++) a[i] = ((i >> 3) % 5) * 1000 + 7;
  return a;
}

test("gzip-stored chunks are the codec bytes in standard gzip", () => {
  const stored = encodeStoredChunk(labels(), "compressed_segmentation", ctx, "gzip");
  const plain = encodeChunk(labels(), "compressed_segmentation", ctx);
  expect(Buffer.from(gunzipSync(stored)).equals(Buffer.from(plain))).toBe(true);
});

test("brotli-stored chunks decompress to the codec bytes", () => {
  const stored = encodeStoredChunk(labels(), "raw", ctx, "br", 3);
  const plain = encodeChunk(labels(), "raw", ctx);
  expect(Buffer.from(brotliDecompressSync(stored)).equals(Buffer.from(plain))).toBe(true);
});

test("the gzip level is zlib's level", () => {
  const plain = encodeChunk(labels(), "raw", ctx);
  for (const level of [1, 9]) {
    const stored = encodeStoredChunk(labels(), "raw", ctx, "gzip", level);
    expect(Buffer.from(stored).equals(gzipSync(plain, { level }))).toBe(true);
  }
});

test("stored chunks decode back to the voxels, with or without compression", () => {
  for (const c of ["gzip", "br", undefined] as const) {
    const back = decodeStoredChunk(
      encodeStoredChunk(labels(), "compressed_segmentation", ctx, c),
      c,
      "compressed_segmentation",
      ctx,
    );
    expect(Array.from(back as Uint32Array)).toEqual(Array.from(labels()));
  }
});

test("bytes that do not gunzip throw an error named DecompressionError naming the chunk", () => {
  expect(() => decodeStoredChunk(new Uint8Array([1, 2, 3]), "gzip", "raw", ctx)).toThrow(
    expect.objectContaining({ name: "DecompressionError", message: expect.stringContaining("k ") }),
  );
});

test("a gzipped chunk that is not a valid chunk throws ChunkDecodeError", () => {
  const gz = new Uint8Array(gzipSync(new Uint8Array(5)));
  expect(() => decodeStoredChunk(gz, "gzip", "raw", ctx)).toThrow(ChunkDecodeError);
});

describe("Volume through the pool", () => {
  const vol = () =>
    Volume.fromArray(`mem://stored-test/${Math.random()}`, fromTyped(labels(), [8, 8, 4, 1]), {
      type: "segmentation",
      encoding: "raw",
      chunkSize: [4, 4, 4],
      compressLevel: 1,
    });

  test("writes chunks gzipped at compressLevel and reads them back", async () => {
    const v = await vol();
    const key = v.chunkKey(new Bbox([0, 0, 0], [4, 4, 4]));
    const raw = await v.storage.getRaw(key);
    expect(raw?.info.contentEncoding).toBe("gzip");
    const first = new Uint32Array(16 * 4);
    const all = labels();
    for (let z = 0; z < 4; z++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) first[x + 4 * (y + 4 * z)] = all[x + 8 * (y + 8 * z)];
    const want = gzipSync(new Uint8Array(first.buffer), { level: 1 });
    expect(Buffer.from(raw!.data).equals(want)).toBe(true);
    const back = await v.read(v.bounds);
    expect(Array.from(back.data as Uint32Array)).toEqual(Array.from(labels()));
  });

  test("a corrupt gzip chunk fails the read with the storage DecompressionError", async () => {
    const v = await vol();
    const key = v.chunkKey(new Bbox([4, 0, 0], [8, 4, 4]));
    await v.storage.putRaw(key, new Uint8Array([0x1f, 0x8b, 9, 9, 9]), { contentEncoding: "gzip" });
    const err = await v.read(v.bounds).catch((e) => e);
    expect(err).toBeInstanceOf(DecompressionError);
    expect(err.message).toContain(key);
  });
});

test("pooled Volume reads of many compressed_segmentation chunks, edges included, are exact", async () => {
  const shape = [20, 12, 9, 1];
  const vox = new Uint32Array(20 * 12 * 9);
  for (let i = 0; i < vox.length; i++) vox[i] = (i * 2654435761) % 13;
  const v = await Volume.fromArray(`mem://stored-test/${Math.random()}`, fromTyped(vox, shape), {
    type: "segmentation",
    encoding: "compressed_segmentation",
    chunkSize: [4, 4, 4],
  });
  for (let round = 0; round < 2; round++) {
    const back = await v.read(v.bounds);
    expect(Array.from(back.data as Uint32Array)).toEqual(Array.from(vox));
  }
  const part = await v.read(new Bbox([3, 1, 2], [17, 11, 8]));
  for (let z = 2; z < 8; z++)
    for (let y = 1; y < 11; y++)
      for (let x = 3; x < 17; x++)
        expect(part.get(x - 3, y - 1, z - 2, 0)).toBe(vox[x + 20 * (y + 12 * z)]);
});

test("on file:// pooled writes store <chunk>.gz (gzip) or the bare chunk (no compression)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ngpipe-stored-"));
  try {
    const vox = new Uint8Array(8 * 8 * 4).map((_, i) => i % 251);
    for (const compress of ["gzip", false] as const) {
      const v = await Volume.fromArray(
        pathToFileURL(join(dir, String(compress))).href,
        fromTyped(vox, [8, 8, 4, 1]),
        { chunkSize: [4, 4, 4], compress },
      );
      const file = join(dir, String(compress), v.scale.key, "4-8_4-8_0-4");
      const stored = compress ? gunzipSync(readFileSync(`${file}.gz`)) : readFileSync(file);
      expect(existsSync(compress ? file : `${file}.gz`)).toBe(false);
      const want = new Uint8Array(64);
      for (let z = 0; z < 4; z++)
        for (let y = 0; y < 4; y++)
          for (let x = 0; x < 4; x++) want[x + 4 * (y + 4 * z)] = vox[4 + x + 8 * (4 + y + 8 * z)];
      expect(Buffer.from(stored).equals(Buffer.from(want))).toBe(true);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("decodeStoredChunkInto decodes a whole compressed_segmentation chunk in place, leaving the rest of the array", () => {
  for (const dtype of ["uint32", "uint64"] as const) {
    const c: ChunkContext = { dtype, shape: [6, 5, 3, 2], blockSize: [4, 4, 2], key: "k" };
    const n = 6 * 5 * 3 * 2;
    const voxels =
      dtype === "uint32"
        ? Uint32Array.from({ length: n }, (_, i) => (i % 7) * 3 + 1)
        : BigUint64Array.from({ length: n }, (_, i) => BigInt((i % 7) * 3 + 1) << 35n);
    const stored = encodeStoredChunk(voxels, "compressed_segmentation", c, "gzip");
    const outShape: [number, number, number, number] = [9, 8, 5, 2];
    const total = 9 * 8 * 5 * 2;
    const out =
      dtype === "uint32" ? new Uint32Array(total).fill(99) : new BigUint64Array(total).fill(99n);
    const at = [2, 3, 1];
    decodeStoredChunkInto(
      stored,
      "gzip",
      "compressed_segmentation",
      c,
      out,
      outShape,
      [0, 0, 0],
      at,
      [6, 5, 3],
    );
    for (let ch = 0; ch < 2; ch++)
      for (let z = 0; z < 5; z++)
        for (let y = 0; y < 8; y++)
          for (let x = 0; x < 9; x++) {
            const inside = x >= 2 && x < 8 && y >= 3 && y < 8 && z >= 1 && z < 4;
            const got = out[x + 9 * (y + 8 * (z + 5 * ch))];
            const want = inside
              ? voxels[x - 2 + 6 * (y - 3 + 5 * (z - 1 + 3 * ch))]
              : dtype === "uint32"
                ? 99
                : 99n;
            expect(got).toBe(want);
          }
  }
});

test("decodeStoredChunkInto refuses a chunk that does not fit the array", () => {
  const stored = encodeStoredChunk(labels(), "compressed_segmentation", ctx);
  const out = new Uint32Array(8 * 8 * 4);
  expect(() =>
    decodeStoredChunkInto(
      stored,
      undefined,
      "compressed_segmentation",
      ctx,
      out,
      [8, 8, 4, 1],
      [0, 0, 0],
      [1, 0, 0],
      [8, 8, 4],
    ),
  ).toThrow(RangeError);
});

test("encodeStoredChunkFrom cuts the chunk out of a larger view and stores what encodeStoredChunk stores", () => {
  const cases = [
    { dtype: "uint8", encoding: "raw" },
    { dtype: "uint16", encoding: "raw" },
    { dtype: "uint32", encoding: "compressed_segmentation" },
    { dtype: "uint64", encoding: "compressed_segmentation" },
  ] as const;
  for (const { dtype, encoding } of cases) {
    const big = takeSharedArray(dtype, [13, 11, 7, 2]);
    const d = big.data as unknown as (number | bigint)[];
    for (let i = 0; i < d.length; i++)
      d[i] = dtype === "uint64" ? BigInt(i % 7) * 2n ** 40n + 3n : (i * 7) % 5;
    const c: ChunkContext = { dtype, shape: [6, 5, 3, 2], blockSize: [4, 4, 2], key: "k" };
    for (const compression of [undefined, "gzip"] as const) {
      const want = encodeStoredChunk(
        crop(big, [4, 3, 2], [6, 5, 3]).data,
        encoding,
        c,
        compression,
      );
      const got = encodeStoredChunkFrom(big, [4, 3, 2], encoding, c, compression);
      // A second cut reuses the scratch memory: the first result must not change.
      const kept = Buffer.from(got);
      encodeStoredChunkFrom(big, [0, 0, 0], encoding, c, compression);
      expect(Buffer.from(got).equals(Buffer.from(want))).toBe(true);
      expect(Buffer.from(got).equals(kept)).toBe(true);
    }
  }
  // A strided view (x reversed) is cut voxel for voxel too.
  const plain = fromTyped(
    Uint8Array.from({ length: 8 * 4 * 4 }, (_, i) => i),
    [8, 4, 4],
  );
  const flipped = plain.step(-1, 1, 1, 1);
  const c: ChunkContext = { dtype: "uint8", shape: [4, 4, 4, 1], key: "k" };
  expect(Array.from(encodeStoredChunkFrom(flipped, [2, 0, 0], "raw", c))).toEqual(
    Array.from(crop(flipped, [2, 0, 0], [4, 4, 4]).data),
  );
});

test("Volume.write of an array on a SharedArrayBuffer stores the same bytes as of a plain array", async () => {
  for (const [dtype, encoding] of [
    ["uint8", "raw"],
    ["uint64", "compressed_segmentation"],
  ] as const) {
    const shape = [20, 12, 9, 1];
    const shared = takeSharedArray(dtype, shape);
    const d = shared.data as unknown as (number | bigint)[];
    for (let i = 0; i < d.length; i++)
      d[i] = dtype === "uint64" ? BigInt((i * 31) % 11) << 45n : (i * 31) % 251;
    const plain = fromTyped(shared.data.slice(), shape);
    const opts = {
      type: dtype === "uint8" ? "image" : "segmentation",
      encoding,
      chunkSize: [8, 8, 4],
      compress: "gzip",
    } as const;
    const a = await Volume.fromArray(`mem://stored-shared-${dtype}/a`, plain, opts);
    const b = await Volume.fromArray(`mem://stored-shared-${dtype}/b`, shared, opts);
    const list = async (v: Volume) => {
      const out: string[] = [];
      for await (const k of v.storage.list(`${v.scale.key}/`)) out.push(k);
      return out.sort();
    };
    const keys = await list(a);
    expect(keys.length).toBe(3 * 2 * 3);
    expect(await list(b)).toEqual(keys);
    for (const k of keys) {
      const [x, y] = [await a.storage.getRaw(k), await b.storage.getRaw(k)];
      expect(Buffer.from(y?.data ?? []).equals(Buffer.from(x?.data ?? [0]))).toBe(true);
    }
    const back = await b.read(b.bounds);
    expect(Buffer.from(back.data.buffer).equals(Buffer.from(plain.data.buffer))).toBe(true);
  }
});

test("decodeStoredChunkInto inflates into reused memory that never shows in a decoded result", () => {
  const c: ChunkContext = { dtype: "uint8", shape: [16, 8, 4, 1], key: "k" };
  const chunkOf = (seed: number) => Uint8Array.from({ length: 512 }, (_, i) => (i * seed) % 251);
  // A raw chunk decodes to a view of its inflated bytes: this one must be new memory.
  const first = decodeStoredChunk(
    encodeStoredChunk(chunkOf(3), "raw", c, "gzip"),
    "gzip",
    "raw",
    c,
  );
  const out = new Uint8Array(24 * 8 * 4);
  /** Copies the box `size` at `srcMin` of a stored gzip raw chunk to `dstMin` of `out`. */
  const paint = (stored: Uint8Array, srcMin: number[], dstMin: number[], size: number[]) =>
    decodeStoredChunkInto(stored, "gzip", "raw", c, out, [24, 8, 4, 1], srcMin, dstMin, size);
  for (const seed of [5, 7, 11]) {
    const stored = encodeStoredChunk(chunkOf(seed), "raw", c, "gzip");
    // The part x 4..15 of the chunk goes to x 0..11 of the output: the copy path.
    paint(stored, [4, 0, 0], [0, 0, 0], [12, 8, 4]);
    for (let z = 0; z < 4; z++)
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 12; x++)
          expect(out[x + 24 * (y + 8 * z)]).toBe(chunkOf(seed)[x + 4 + 16 * (y + 8 * z)]);
  }
  expect(Array.from(first as Uint8Array)).toEqual(Array.from(chunkOf(3)));
  // A chunk that inflates past its size is refused on this path too, and the next one decodes.
  const bomb = gzipSync(new Uint8Array(513));
  expect(() => paint(bomb, [0, 0, 0], [0, 0, 0], [16, 8, 4])).toThrow(ChunkDecodeError);
  const again = encodeStoredChunk(chunkOf(13), "raw", c, "gzip");
  paint(again, [0, 0, 0], [8, 0, 0], [16, 8, 4]);
  expect(out[8 + 24 * (1 + 8 * 2)]).toBe(chunkOf(13)[16 * (1 + 8 * 2)]);
});
