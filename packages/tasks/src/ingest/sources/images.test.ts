import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { deflateSync } from "node:zlib";
import { encodeJpeg } from "@ngpipe/precomputed";
import * as jpegJs from "jpeg-js";
import UTIF from "utif";
import { ShapeMismatchError, SourceError } from "./errors";
import { naturalCompare, openImageStack } from "./images";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ngpipe-img-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** value(x, y, z, c) = x + 10y + 100z + 1000c. */
const value = (x: number, y: number, z: number, c: number) => x + 10 * y + 100 * z + 1000 * c;

/** Interleaved pixels of slice z: value() for uint16, value() mod 251 for uint8. */
function pixels(w: number, h: number, z: number, channels: number, bits: 8 | 16) {
  const out = bits === 16 ? new Uint16Array(w * h * channels) : new Uint8Array(w * h * channels);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < channels; c++) {
        const v = value(x, y, z, c);
        out[(y * w + x) * channels + c] = bits === 16 ? v : v % 251;
      }
  return out;
}

async function png(w: number, h: number, z: number, channels: number, bits: 8 | 16) {
  const { encode } = await import("fast-png");
  return encode({
    width: w,
    height: h,
    data: pixels(w, h, z, channels, bits),
    depth: bits,
    channels,
  });
}

/**
 * A big-endian ("MM") grey TIFF with one strip per page, written with
 * UTIF.encode; strips raw or deflate-compressed (compression 8).
 */
function tiff(w: number, h: number, zs: number[], bits: 8 | 16, deflate = false): Uint8Array {
  const strips = zs.map((z) => {
    const px = pixels(w, h, z, 1, bits);
    const raw = new Uint8Array(px.length * (bits / 8));
    const dv = new DataView(raw.buffer);
    for (let k = 0; k < px.length; k++) {
      if (bits === 16) dv.setUint16(2 * k, px[k], false);
      else dv.setUint8(k, px[k]);
    }
    return deflate ? new Uint8Array(deflateSync(raw)) : raw;
  });
  const ifds = (offsets: number[]) =>
    strips.map((strip, i) => ({
      t256: [w],
      t257: [h],
      t258: [bits],
      t259: [deflate ? 8 : 1],
      t262: [1],
      t273: [offsets[i]],
      t277: [1],
      t278: [h],
      t279: [strip.length],
    }));
  const headerLen = UTIF.encode(ifds(strips.map(() => 0))).byteLength;
  const offsets: number[] = [];
  let pos = headerLen;
  for (const strip of strips) {
    offsets.push(pos);
    pos += strip.length;
  }
  const out = new Uint8Array(pos);
  out.set(new Uint8Array(UTIF.encode(ifds(offsets))));
  for (const [i, strip] of strips.entries()) out.set(strip, offsets[i]);
  return out;
}

/** Check every voxel of a block read from the stack against pixels(). */
async function expectBlock(
  src: Awaited<ReturnType<typeof openImageStack>>,
  min: [number, number, number],
  max: [number, number, number],
  bits: 8 | 16,
) {
  const block = (await src.readBlock({ min, max })).data;
  const [nx, ny, nz] = [0, 1, 2].map((i) => max[i] - min[i]);
  const C = src.shape[3];
  const got: number[] = [];
  const want: number[] = [];
  for (let c = 0; c < C; c++)
    for (let z = 0; z < nz; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          got.push(Number(block[x + nx * (y + ny * (z + nz * c))]));
          const v = value(min[0] + x, min[1] + y, min[2] + z, c);
          want.push(bits === 16 ? v : v % 251);
        }
  expect(got).toEqual(want);
}

test("natural sort puts slice2 before slice10", () => {
  expect(["slice10.png", "slice2.png", "slice1.png"].sort(naturalCompare)).toEqual([
    "slice1.png",
    "slice2.png",
    "slice10.png",
  ]);
});

test("a directory of 16-bit PNG slices is read in natural order", async () => {
  const d = path.join(dir, "png16");
  mkdirSync(d);
  for (let z = 0; z < 12; z++)
    writeFileSync(path.join(d, `slice${z + 1}.png`), await png(7, 5, z, 1, 16));
  writeFileSync(path.join(d, "notes.txt"), "ignored");
  const src = await openImageStack(d);
  expect([src.shape, src.dataType, src.format]).toEqual([[7, 5, 12, 1], "uint16", "images"]);
  await expectBlock(src, [0, 0, 0], [7, 5, 12], 16);
  await expectBlock(src, [2, 1, 8], [6, 4, 11], 16);
  await src.close();
});

test("RGB PNG slices give 3 planar channels; a glob selects the files", async () => {
  const d = path.join(dir, "rgb");
  mkdirSync(d);
  for (let z = 0; z < 3; z++) writeFileSync(path.join(d, `z${z}.png`), await png(6, 4, z, 3, 8));
  writeFileSync(path.join(d, "other.png"), await png(9, 9, 0, 1, 8));
  const src = await openImageStack(path.join(d, "z*.png"));
  expect([src.shape, src.dataType]).toEqual([[6, 4, 3, 3], "uint8"]);
  await expectBlock(src, [1, 1, 0], [5, 4, 3], 8);
});

test("a directory of big-endian 16-bit TIFF slices", async () => {
  const d = path.join(dir, "tif");
  mkdirSync(d);
  for (let z = 0; z < 4; z++) writeFileSync(path.join(d, `im_${z}.tif`), tiff(9, 6, [z], 16));
  const src = await openImageStack(d);
  expect([src.shape, src.dataType]).toEqual([[9, 6, 4, 1], "uint16"]);
  await expectBlock(src, [0, 0, 0], [9, 6, 4], 16);
  await expectBlock(src, [3, 2, 1], [8, 6, 3], 16);
});

test("deflate-compressed 16-bit and 8-bit TIFFs decode through UTIF", async () => {
  const d = path.join(dir, "tifz");
  mkdirSync(d);
  for (let z = 0; z < 3; z++) writeFileSync(path.join(d, `im_${z}.tif`), tiff(9, 6, [z], 16, true));
  const src = await openImageStack(d);
  expect([src.shape, src.dataType]).toEqual([[9, 6, 3, 1], "uint16"]);
  await expectBlock(src, [0, 0, 0], [9, 6, 3], 16);
  const file = path.join(dir, "stackz.tif");
  writeFileSync(file, tiff(8, 5, [0, 1, 2], 8, true));
  const multi = await openImageStack(file);
  expect(multi.shape).toEqual([8, 5, 3, 1]);
  await expectBlock(multi, [1, 1, 0], [7, 5, 3], 8);
});

test("a multi-page TIFF is a stack with a page per z", async () => {
  const file = path.join(dir, "stack.tiff");
  writeFileSync(file, tiff(8, 5, [0, 1, 2, 3, 4], 8));
  const src = await openImageStack(file, { cacheBytes: 0 });
  expect([src.shape, src.dataType]).toEqual([[8, 5, 5, 1], "uint8"]);
  await expectBlock(src, [0, 0, 0], [8, 5, 5], 8);
  await expectBlock(src, [5, 0, 2], [8, 3, 4], 8);
});

test("colour JPEG slices decode to 3 channels close to the source pixels", async () => {
  const d = path.join(dir, "jpg");
  mkdirSync(d);
  const [w, h] = [16, 16];
  for (let z = 0; z < 2; z++) {
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([100 + 20 * z, 150, 60, 255], 4 * i);
    writeFileSync(
      path.join(d, `s${z}.jpg`),
      jpegJs.encode({ width: w, height: h, data: rgba }, 95).data,
    );
  }
  const src = await openImageStack(d);
  expect([src.shape, src.dataType]).toEqual([[16, 16, 2, 3], "uint8"]);
  const b = (await src.readBlock({ min: [0, 0, 0], max: [16, 16, 2] })).data as Uint8Array;
  const n = w * h;
  for (const [z, c, v] of [
    [0, 0, 100],
    [1, 0, 120],
    [1, 1, 150],
    [0, 2, 60],
  ]) {
    const i = 5 + w * 7 + n * z + 2 * n * c;
    expect(Math.abs(b[i] - v)).toBeLessThanOrEqual(3);
  }
});

test("greyscale JPEG slices decode to 1 channel", async () => {
  const d = path.join(dir, "jpg-grey");
  mkdirSync(d);
  const [w, h] = [16, 8];
  for (let z = 0; z < 2; z++) {
    writeFileSync(
      path.join(d, `g${z}.jpeg`),
      encodeJpeg(new Uint8Array(w * h).fill(40 + 100 * z), [w, h, 1, 1], 95),
    );
  }
  const src = await openImageStack(d);
  expect([src.shape, src.dataType]).toEqual([[16, 8, 2, 1], "uint8"]);
  const b = (await src.readBlock({ min: [3, 2, 0], max: [4, 3, 2] })).data as Uint8Array;
  expect(Math.abs(b[0] - 40)).toBeLessThanOrEqual(2);
  expect(Math.abs(b[1] - 140)).toBeLessThanOrEqual(2);
});

test("decoded slices are cached across blocks, within cacheBytes", async () => {
  const d = path.join(dir, "cache");
  mkdirSync(d);
  for (let z = 0; z < 4; z++) writeFileSync(path.join(d, `c${z}.png`), await png(8, 8, z, 1, 8));
  // the module object itself (a namespace import would be a copy under swc's CommonJS interop)
  const fsp = jest.requireActual<typeof import("node:fs/promises")>("node:fs/promises");
  const reads = jest.spyOn(fsp, "readFile");
  try {
    const cached = await openImageStack(d); // decodes slice 0
    await cached.readBlock({ min: [0, 0, 0], max: [4, 8, 4] });
    await cached.readBlock({ min: [4, 0, 0], max: [8, 8, 4] });
    expect(reads).toHaveBeenCalledTimes(4);
    reads.mockClear();
    const uncached = await openImageStack(d, { cacheBytes: 0 });
    await uncached.readBlock({ min: [0, 0, 0], max: [4, 8, 4] });
    await uncached.readBlock({ min: [4, 0, 0], max: [8, 8, 4] });
    // slice 0 at open, then slices 1-3 (0 was evicted) for the first block and 0-3 for the second
    expect(reads).toHaveBeenCalledTimes(8);
  } finally {
    reads.mockRestore();
  }
});

test("a slice of a different size is a ShapeMismatchError naming the file", async () => {
  const d = path.join(dir, "mismatch");
  mkdirSync(d);
  for (let z = 0; z < 3; z++)
    writeFileSync(path.join(d, `s${z}.png`), await png(z === 2 ? 8 : 7, 5, z, 1, 8));
  const src = await openImageStack(d);
  await expectBlock(src, [0, 0, 0], [7, 5, 2], 8);
  const err = await src.readBlock({ min: [0, 0, 1], max: [7, 5, 3] }).catch((e) => e);
  expect(err).toBeInstanceOf(ShapeMismatchError);
  expect(err.message).toContain(path.join(d, "s2.png"));
});

test("an empty directory is a SourceError", async () => {
  const d = path.join(dir, "empty");
  mkdirSync(d);
  await expect(openImageStack(d)).rejects.toBeInstanceOf(SourceError);
});
