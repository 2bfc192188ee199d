import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { deflateSync, gzipSync } from "node:zlib";
import { openStorage } from "@ngpipe/storage";
import {
  CorruptSourceError,
  DatasetNotFoundError,
  SourceError,
  UnsupportedDataTypeError,
} from "./errors";
import { mapEsmOnlyPackagesForJest } from "./esm-jest.testutil";
import type { BlockBox, VolumeSource } from "./types";
import { openZarr } from "./zarr";
import { localByteStore } from "./zarr-store";

mapEsmOnlyPackagesForJest();

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ngpipe-zarr-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** value(x, y, z, c) = x + 10y + 100z + 1000c. */
const value = (x: number, y: number, z: number, c: number) => x + 10 * y + 100 * z + 1000 * c;

/** A C-order (c, z, y, x) or (z, y, x) volume of value(), as numbers. */
function volume(shape: number[]): number[] {
  const [C, Z, Y, X] = shape.length === 4 ? shape : [1, ...shape];
  const out: number[] = [];
  for (let c = 0; c < C; c++)
    for (let z = 0; z < Z; z++)
      for (let y = 0; y < Y; y++) for (let x = 0; x < X; x++) out.push(value(x, y, z, c));
  return out;
}

/** Every block of a tiling with odd steps, checked against value(). */
async function expectAllBlocks(
  src: VolumeSource,
  step: number[],
  conv: (v: number) => unknown = (v) => v,
) {
  const [X, Y, Z, C] = src.shape;
  for (let z0 = 0; z0 < Z; z0 += step[2])
    for (let y0 = 0; y0 < Y; y0 += step[1])
      for (let x0 = 0; x0 < X; x0 += step[0]) {
        const b: BlockBox = {
          min: [x0, y0, z0],
          max: [Math.min(x0 + step[0], X), Math.min(y0 + step[1], Y), Math.min(z0 + step[2], Z)],
        };
        const block = (await src.readBlock(b)).data;
        const [nx, ny, nz] = [0, 1, 2].map((i) => b.max[i] - b.min[i]);
        for (let c = 0; c < C; c++)
          for (let z = 0; z < nz; z++)
            for (let y = 0; y < ny; y++)
              for (let x = 0; x < nx; x++) {
                const got = block[x + nx * (y + ny * (z + nz * c))];
                const want = conv(value(x0 + x, y0 + y, z0 + z, c));
                if (got !== want)
                  throw new Error(
                    `block ${JSON.stringify(b)} at ${[x, y, z, c]}: ${got} != ${want}`,
                  );
              }
      }
}

/** Iterate chunk grid positions of `shape` / `chunks`. */
function* grid(shape: number[], chunks: number[]): Generator<number[]> {
  const n = shape.map((s, i) => Math.ceil(s / chunks[i]));
  const idx = n.map(() => 0);
  for (;;) {
    yield [...idx];
    let k = idx.length - 1;
    for (; k >= 0; k--) {
      if (++idx[k] < n[k]) break;
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

/** Bytes of one full-size C-order chunk of value() (edge chunks padded with 0), via a DataView writer. */
function chunkBytes(
  shape: number[],
  chunks: number[],
  pos: number[],
  width: number,
  put: (dv: DataView, off: number, v: number) => void,
): Uint8Array {
  const n = chunks.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(n * width);
  const dv = new DataView(out.buffer);
  const full = volume(shape);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let e = 0; e < n; e++) {
    let rem = e;
    let src = 0;
    let inside = true;
    for (let d = chunks.length - 1; d >= 0; d--) {
      const local = rem % chunks[d];
      rem = Math.floor(rem / chunks[d]);
      const g = pos[d] * chunks[d] + local;
      if (g >= shape[d]) inside = false;
      src += g * strides[d];
    }
    if (inside) put(dv, e * width, full[src]);
  }
  return out;
}

/** Zarr v2 array written by hand per the v2 spec (.zarray + zlib chunks). */
function writeV2(root: string, shape: number[], chunks: number[], dtype: string, sep: "." | "/") {
  mkdirSync(root, { recursive: true });
  writeFileSync(
    path.join(root, ".zarray"),
    JSON.stringify({
      zarr_format: 2,
      shape,
      chunks,
      dtype,
      compressor: { id: "zlib", level: 5 },
      fill_value: 0,
      order: "C",
      filters: null,
      dimension_separator: sep,
    }),
  );
  const le = dtype.startsWith("<");
  const width = Number(dtype.slice(2));
  const put =
    width === 2
      ? (dv: DataView, o: number, v: number) => dv.setUint16(o, v, le)
      : (dv: DataView, o: number, v: number) => dv.setInt32(o, -v, le);
  for (const pos of grid(shape, chunks)) {
    const f = path.join(root, ...pos.join(sep).split("/"));
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, deflateSync(chunkBytes(shape, chunks, pos, width, put)));
  }
}

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();
function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = CRC32C_TABLE[(c ^ v) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Zarr v3 sharded array written by hand per the sharding_indexed spec (gzip inner chunks, crc32c index at the end). */
function writeV3Sharded(root: string, shape: number[], shard: number[], inner: number[]) {
  mkdirSync(root, { recursive: true });
  writeFileSync(
    path.join(root, "zarr.json"),
    JSON.stringify({
      zarr_format: 3,
      node_type: "array",
      shape,
      data_type: "uint16",
      chunk_grid: { name: "regular", configuration: { chunk_shape: shard } },
      chunk_key_encoding: { name: "default", configuration: { separator: "/" } },
      fill_value: 0,
      codecs: [
        {
          name: "sharding_indexed",
          configuration: {
            chunk_shape: inner,
            codecs: [
              { name: "bytes", configuration: { endian: "little" } },
              { name: "gzip", configuration: { level: 5 } },
            ],
            index_codecs: [
              { name: "bytes", configuration: { endian: "little" } },
              { name: "crc32c" },
            ],
            index_location: "end",
          },
        },
      ],
      dimension_names: ["z", "y", "x"],
    }),
  );
  const put = (dv: DataView, o: number, v: number) => dv.setUint16(o, v, true);
  const per = shard.map((s, i) => s / inner[i]);
  for (const spos of grid(shape, shard)) {
    const parts: Uint8Array[] = [];
    const index = new DataView(new ArrayBuffer(per.reduce((a, b) => a * b, 1) * 16));
    let offset = 0;
    let i = 0;
    for (const ipos of grid(shard, inner)) {
      const pos = ipos.map((p, d) => spos[d] * per[d] + p);
      if (pos.some((p, d) => p * inner[d] >= shape[d])) {
        index.setBigUint64(i * 16, 0xffffffffffffffffn, true);
        index.setBigUint64(i * 16 + 8, 0xffffffffffffffffn, true);
      } else {
        const bytes = gzipSync(chunkBytes(shape, inner, pos, 2, put));
        parts.push(bytes);
        index.setBigUint64(i * 16, BigInt(offset), true);
        index.setBigUint64(i * 16 + 8, BigInt(bytes.length), true);
        offset += bytes.length;
      }
      i++;
    }
    const idx = new Uint8Array(index.buffer);
    const crc = new Uint8Array(4);
    new DataView(crc.buffer).setUint32(0, crc32c(idx), true);
    const f = path.join(root, "c", ...spos.map(String));
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, Buffer.concat([...parts, idx, crc]));
  }
}

describe("Zarr v2", () => {
  test("little-endian uint16, zlib, '.' keys: every block matches", async () => {
    const root = path.join(dir, "v2u16.zarr");
    writeV2(root, [5, 13, 11], [2, 4, 4], "<u2", ".");
    const src = await openZarr(root);
    expect([src.shape, src.dataType, src.format]).toEqual([[11, 13, 5, 1], "uint16", "zarr"]);
    await expectAllBlocks(src, [5, 6, 3]);
  });

  test("big-endian int32 with '/' keys (c, z, y, x)", async () => {
    const root = path.join(dir, "v2i32.zarr");
    writeV2(root, [2, 3, 7, 9], [1, 2, 3, 4], ">i4", "/");
    const src = await openZarr(`file://${root}`);
    expect([src.shape, src.dataType]).toEqual([[9, 7, 3, 2], "int32"]);
    await expectAllBlocks(src, [4, 5, 2], (v) => 0 - v);
  });
});

describe("Zarr v3", () => {
  test("array written by zarrita, read block by block", async () => {
    const zarr = await import("zarrita");
    const FileSystemStore = (await import("@zarrita/storage/fs")).default;
    const store = new FileSystemStore(path.join(dir, "v3.zarr"));
    const shape = [4, 9, 10];
    const arr = await zarr.create(zarr.root(store).resolve("/vol"), {
      shape,
      chunkShape: [3, 4, 4],
      dtype: "uint32",
    });
    await zarr.set(arr, null, {
      data: Uint32Array.from(volume(shape)),
      shape,
      stride: [90, 10, 1],
    });
    const src = await openZarr(`${path.join(dir, "v3.zarr")}#/vol`);
    expect([src.shape, src.dataType]).toEqual([[10, 9, 4, 1], "uint32"]);
    await expectAllBlocks(src, [7, 5, 3]);
  });

  test("sharded array (sharding_indexed, gzip, crc32c index) reads via range requests", async () => {
    const root = path.join(dir, "sharded.zarr");
    writeV3Sharded(root, [6, 10, 12], [4, 8, 8], [2, 4, 4]);
    const base = localByteStore(root);
    const ranged: string[] = [];
    const whole: string[] = [];
    const store = {
      ...base,
      get: (key: string, opts?: { range?: { start: number; end?: number } }) => {
        (opts?.range ? ranged : whole).push(key);
        return base.get(key, opts);
      },
    };
    const src = await openZarr(root, { store });
    expect([src.shape, src.dataType]).toEqual([[12, 10, 6, 1], "uint16"]);
    await expectAllBlocks(src, [5, 7, 3]);
    expect(ranged.length).toBeGreaterThan(0);
    expect(ranged.every((k) => k.startsWith("c/"))).toBe(true);
    // shards are never fetched whole: index and inner chunks come by range
    expect(whole.filter((k) => k.startsWith("c/"))).toEqual([]);
  });

  test("a missing array path lists the arrays present", async () => {
    const err = await openZarr(path.join(dir, "v3.zarr"), { path: "nope" }).catch((e) => e);
    expect(err).toBeInstanceOf(DatasetNotFoundError);
    expect(err.available).toEqual(["/vol"]);
  });

  test("float16 arrays are refused", async () => {
    const root = path.join(dir, "f16.zarr");
    mkdirSync(root);
    writeFileSync(
      path.join(root, "zarr.json"),
      JSON.stringify({
        zarr_format: 3,
        node_type: "array",
        shape: [2, 2, 2],
        data_type: "float16",
        chunk_grid: { name: "regular", configuration: { chunk_shape: [2, 2, 2] } },
        chunk_key_encoding: { name: "default" },
        fill_value: 0,
        codecs: [{ name: "bytes", configuration: { endian: "little" } }],
      }),
    );
    const err = await openZarr(root).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedDataTypeError);
    expect(err.message).toContain("float16");
  });
});

describe("OME-Zarr", () => {
  function omeAttrs(version: string) {
    return {
      version,
      axes: [
        { name: "c", type: "channel" },
        { name: "z", type: "space", unit: "micrometer" },
        { name: "y", type: "space", unit: "micrometer" },
        { name: "x", type: "space", unit: "nanometer" },
      ],
      datasets: [
        { path: "s0", coordinateTransformations: [{ type: "scale", scale: [1, 0.04, 0.008, 8] }] },
        { path: "s1", coordinateTransformations: [{ type: "scale", scale: [1, 0.04, 0.016, 16] }] },
      ],
    };
  }

  test("0.4 group (Zarr v2): picks a level, axes and resolution in nm", async () => {
    const root = path.join(dir, "img.ome.zarr");
    mkdirSync(root);
    writeFileSync(path.join(root, ".zgroup"), JSON.stringify({ zarr_format: 2 }));
    writeFileSync(path.join(root, ".zattrs"), JSON.stringify({ multiscales: [omeAttrs("0.4")] }));
    writeV2(path.join(root, "s0"), [2, 3, 8, 10], [1, 2, 4, 4], "<u2", "/");
    writeV2(path.join(root, "s1"), [2, 3, 4, 5], [1, 2, 4, 4], "<u2", "/");
    const l0 = await openZarr(root);
    expect([l0.shape, l0.resolution]).toEqual([
      [10, 8, 3, 2],
      [8, 8, 40],
    ]);
    await expectAllBlocks(l0, [6, 5, 2]);
    const l1 = await openZarr(root, { level: 1 });
    expect([l1.shape, l1.resolution, l1.url]).toEqual([[5, 4, 3, 2], [16, 16, 40], `${root}#/s1`]);
    await expectAllBlocks(l1, [5, 4, 3]);
    await expect(openZarr(root, { level: 2 })).rejects.toThrow(/levels 0\.\.1/);
  });

  test('axes are mapped by OME type when their names are not letters ("channel")', async () => {
    const root = path.join(dir, "named.ome.zarr");
    mkdirSync(root);
    writeFileSync(path.join(root, ".zgroup"), JSON.stringify({ zarr_format: 2 }));
    const attrs = omeAttrs("0.4");
    attrs.axes[0] = { name: "channel", type: "channel" };
    writeFileSync(path.join(root, ".zattrs"), JSON.stringify({ multiscales: [attrs] }));
    writeV2(path.join(root, "s0"), [2, 3, 8, 10], [1, 2, 4, 4], "<u2", "/");
    const l0 = await openZarr(root);
    expect(l0.shape).toEqual([10, 8, 3, 2]);
    await expectAllBlocks(l0, [6, 5, 2]);
  });

  test("0.5 group (Zarr v3, attributes.ome) with a size-1 t axis", async () => {
    const zarr = await import("zarrita");
    const FileSystemStore = (await import("@zarrita/storage/fs")).default;
    const store = new FileSystemStore(path.join(dir, "img5.ome.zarr"));
    const ms = omeAttrs("0.5");
    ms.axes.unshift({ name: "t", type: "time" });
    for (const d of ms.datasets) d.coordinateTransformations[0].scale.unshift(1);
    await zarr.create(zarr.root(store), {
      attributes: { ome: { version: "0.5", multiscales: [ms] } },
    });
    for (const [p, shape] of [
      ["s0", [1, 2, 3, 8, 10]],
      ["s1", [1, 2, 3, 4, 5]],
    ] as const) {
      const arr = await zarr.create(zarr.root(store).resolve(`/${p}`), {
        shape: [...shape],
        chunkShape: [1, 1, 2, 4, 4],
        dtype: "uint16",
      });
      const [, c, z, y, x] = shape;
      await zarr.set(arr, null, {
        data: Uint16Array.from(volume([c, z, y, x])),
        shape: [...shape],
        stride: [c * z * y * x, z * y * x, y * x, x, 1],
      });
    }
    const l1 = await openZarr(path.join(dir, "img5.ome.zarr"), { level: 1 });
    expect([l1.shape, l1.resolution]).toEqual([
      [5, 4, 3, 2],
      [16, 16, 40],
    ]);
    await expectAllBlocks(l1, [3, 3, 2]);
  });
});

describe("through @ngpipe/storage URLs", () => {
  /** Copy a local directory tree into a mem:// storage. */
  async function upload(local: string, url: string) {
    const st = openStorage(url);
    for (const ent of readdirSync(local, { recursive: true, withFileTypes: true })) {
      if (!ent.isFile()) continue;
      const full = path.join(ent.parentPath, ent.name);
      await st.put(path.relative(local, full).split(path.sep).join("/"), readFileSync(full));
    }
  }

  test("a v2 array and a sharded v3 array on mem:// read like local ones", async () => {
    const v2 = path.join(dir, "mem-v2.zarr");
    writeV2(v2, [3, 6, 7], [2, 4, 4], "<u2", ".");
    await upload(v2, "mem://ingest-zarr/a.zarr");
    const a = await openZarr("mem://ingest-zarr/a.zarr");
    expect(a.shape).toEqual([7, 6, 3, 1]);
    await expectAllBlocks(a, [4, 5, 2]);

    const v3 = path.join(dir, "mem-sharded.zarr");
    writeV3Sharded(v3, [4, 8, 8], [4, 8, 8], [2, 4, 4]);
    await upload(v3, "mem://ingest-zarr/b.zarr");
    const b = await openZarr("mem://ingest-zarr/b.zarr");
    expect(b.shape).toEqual([8, 8, 4, 1]);
    await expectAllBlocks(b, [3, 5, 3]);
  });

  test("a URL with nothing there is a SourceError", async () => {
    const err = await openZarr("mem://ingest-zarr/none.zarr").catch((e) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toContain("no Zarr array or group");
  });
});

describe("bad stores are errors, not wrong voxels", () => {
  test("a truncated chunk is a CorruptSourceError naming the chunk", async () => {
    const root = path.join(dir, "trunc.zarr");
    writeV2(root, [4, 4, 4], [4, 4, 4], "<u2", ".");
    // Store the chunk uncompressed, then cut it in half.
    const meta = JSON.parse(readFileSync(path.join(root, ".zarray"), "utf8"));
    writeFileSync(path.join(root, ".zarray"), JSON.stringify({ ...meta, compressor: null }));
    writeFileSync(path.join(root, "0.0.0"), new Uint8Array(64));
    const src = await openZarr(root);
    const err = await src.readBlock({ min: [0, 0, 0], max: [4, 4, 4] }).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptSourceError);
    expect((err as Error).message).toMatch(/chunk \[0,0,0\] decodes to 32 values.*needs 64/);
  });

  test("shards with their index at the start are refused (zarrita reads it from the end)", async () => {
    const root = path.join(dir, "start.zarr");
    writeV3Sharded(root, [8, 8, 8], [8, 8, 8], [4, 4, 4]);
    const meta = JSON.parse(readFileSync(path.join(root, "zarr.json"), "utf8"));
    meta.codecs[0].configuration.index_location = "start";
    writeFileSync(path.join(root, "zarr.json"), JSON.stringify(meta));
    await expect(openZarr(root)).rejects.toThrow(/index_location "start" are not supported/);
  });

  test("a 5-D array without axis names asks for an axes option", async () => {
    const root = path.join(dir, "five.zarr");
    writeV2(root, [1, 2, 3, 4, 5], [1, 1, 3, 4, 5], "<u2", ".");
    const err = await openZarr(root).catch((e) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toMatch(/5-D array without axis names.*"axes"/);
    const ok = await openZarr(root, { axes: "tczyx" });
    expect(ok.shape).toEqual([5, 4, 3, 2]);
  });
});
