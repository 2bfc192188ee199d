/**
 * Ingest source read throughput: write one volume in each source format to a
 * temp dir, then read it whole in blocks through the `@ngpipe/tasks` source
 * readers, as the ingest stage does.
 *
 *   npx tsx bench/ingest-read.ts                     # 512x512x64 uint8, 128x128x64 blocks
 *   npx tsx bench/ingest-read.ts --size 256 --z 32 --block 64
 *
 * Prints Mvox/s and MB/s (of decoded voxels) per format, best of 2 rounds.
 * Formats: npy (raw file reads), HDF5 (chunked 64^3, deflate level 1),
 * Zarr v3 (chunks 64^3, uncompressed, via zarrita), a PNG slice stack, and a
 * multi-page TIFF.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { openSource, type VolumeSource } from "@ngpipe/tasks";
import UTIF from "utif";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const N = arg("size", 512);
const Z = arg("z", 64);
const B = arg("block", 128);
const ROUNDS = 2;

/** A smooth-ish uint8 volume, C order (z, y, x) = x-fastest [x, y, z]. */
function makeVolume(): Uint8Array {
  const v = new Uint8Array(N * N * Z);
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < N; y++)
      for (let x = 0; x < N; x++)
        v[(z * N + y) * N + x] = (x * 3 + y * 5 + z * 7 + ((x * y) >> 6)) & 255;
  return v;
}

function npyFile(file: string, v: Uint8Array) {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${Z}, ${N}, ${N}), }`;
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = `${header}${" ".repeat(total - 10 - header.length - 1)}\n`;
  const out = new Uint8Array(total + v.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(v, total);
  writeFileSync(file, out);
}

async function hdf5File(file: string, v: Uint8Array) {
  const h5 = await import("h5wasm/node");
  await h5.ready;
  const f = new h5.File(file, "w");
  f.create_dataset({
    name: "raw",
    data: v,
    shape: [Z, N, N],
    dtype: "<B",
    chunks: [Math.min(64, Z), 64, 64],
    compression: 1,
  });
  f.close();
}

async function zarrDir(dir: string, v: Uint8Array) {
  const zarr = await import("zarrita");
  const FileSystemStore = (await import("@zarrita/storage/fs")).default;
  const arr = await zarr.create(zarr.root(new FileSystemStore(dir)), {
    shape: [Z, N, N],
    chunkShape: [Math.min(64, Z), 64, 64],
    dtype: "uint8",
  });
  await zarr.set(arr, null, { data: v, shape: [Z, N, N], stride: [N * N, N, 1] });
}

async function pngDir(dir: string, v: Uint8Array) {
  const { encode } = await import("fast-png");
  mkdirSync(dir);
  for (let z = 0; z < Z; z++) {
    const data = v.subarray(z * N * N, (z + 1) * N * N);
    writeFileSync(
      path.join(dir, `slice${z}.png`),
      encode({ width: N, height: N, data, depth: 8, channels: 1 }),
    );
  }
}

function tiffFile(file: string, v: Uint8Array) {
  const page = N * N;
  const ifd = (offset: number) => ({
    t256: [N],
    t257: [N],
    t258: [8],
    t259: [1],
    t262: [1],
    t273: [offset],
    t277: [1],
    t278: [N],
    t279: [page],
  });
  const zs = [...Array(Z).keys()];
  const headerLen = UTIF.encode(zs.map(() => ifd(0))).byteLength;
  const header = new Uint8Array(UTIF.encode(zs.map((z) => ifd(headerLen + z * page))));
  const out = new Uint8Array(headerLen + v.length);
  out.set(header);
  out.set(v, headerLen);
  writeFileSync(file, out);
}

async function readAll(src: VolumeSource, ref: Uint8Array): Promise<number> {
  const t0 = performance.now();
  for (let z = 0; z < Z; z += B)
    for (let y = 0; y < N; y += B)
      for (let x = 0; x < N; x += B) {
        const max: [number, number, number] = [
          Math.min(x + B, N),
          Math.min(y + B, N),
          Math.min(z + B, Z),
        ];
        const block = (await src.readBlock({ min: [x, y, z], max })).data as Uint8Array;
        if (block[0] !== ref[(z * N + y) * N + x])
          throw new Error(`${src.format}: wrong data at ${[x, y, z]}`);
      }
  return (performance.now() - t0) / 1000;
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), "ngpipe-bench-ingest-"));
  const v = makeVolume();
  const specs: [string, string, () => Promise<void> | void][] = [
    ["npy", path.join(dir, "v.npy"), () => npyFile(path.join(dir, "v.npy"), v)],
    ["hdf5 (deflate)", `${path.join(dir, "v.h5")}#/raw`, () => hdf5File(path.join(dir, "v.h5"), v)],
    ["zarr v3", path.join(dir, "v.zarr"), () => zarrDir(path.join(dir, "v.zarr"), v)],
    ["png stack", path.join(dir, "png"), () => pngDir(path.join(dir, "png"), v)],
    ["multi-page tiff", path.join(dir, "v.tif"), () => tiffFile(path.join(dir, "v.tif"), v)],
  ];
  console.log(
    `volume ${N}x${N}x${Z} uint8 (${(v.length / 2 ** 20).toFixed(0)} MiB), blocks ${B}^3 (z clipped)`,
  );
  console.log("| source | Mvox/s | MB/s |\n|---|---|---|");
  try {
    for (const [name, url, write] of specs) {
      await write();
      let best = Number.POSITIVE_INFINITY;
      for (let r = 0; r < ROUNDS; r++) {
        // a fresh source each round: no slice cache carried over
        const src = await openSource(url, { maxWholeFileBytes: 0 });
        best = Math.min(best, await readAll(src, v));
        await src.close();
      }
      const mvox = v.length / 1e6 / best;
      console.log(`| ${name} | ${mvox.toFixed(1)} | ${(v.length / 2 ** 20 / best).toFixed(1)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nreproduce: npx tsx bench/ingest-read.ts --size ${N} --z ${Z} --block ${B}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
