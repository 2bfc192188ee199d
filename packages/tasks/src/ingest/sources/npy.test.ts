import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CorruptSourceError, UnsupportedDataTypeError } from "./errors";
import { encodeNpy, openNpy, parseNpyHeader } from "./npy";
import type { BlockBox, VolumeSource } from "./types";

const FIXTURES = path.join(__dirname, "fixtures");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "ngpipe-npy-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An .npy file (format 1.0 or 2.0) from a header dict and raw data bytes, per the numpy format spec. */
function npyBytes(dict: string, data: Uint8Array, version: 1 | 2 = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let header = dict;
  const total = Math.ceil((pre + header.length + 1) / 64) * 64;
  header = `${header}${" ".repeat(total - pre - header.length - 1)}\n`;
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(data, total);
  return out;
}

/** value(x, y, z, c) = x + 10y + 100z + 1000c, the fixtures' formula. */
const value = (x: number, y: number, z: number, c: number) => x + 10 * y + 100 * z + 1000 * c;

/** Assert a block of `src` holds value(x, y, z, c) at every voxel. */
async function expectFormula(
  src: VolumeSource,
  b: BlockBox,
  conv: (v: number) => unknown = (v) => v,
) {
  const array = await src.readBlock(b);
  const block = array.data;
  const [nx, ny, nz] = [0, 1, 2].map((i) => b.max[i] - b.min[i]);
  // A scijs ndarray [x, y, z, c] with Fortran strides over exactly its voxels.
  expect(array.shape).toEqual([nx, ny, nz, src.shape[3]]);
  expect(array.stride).toEqual([1, nx, nx * ny, nx * ny * nz]);
  expect(array.offset).toBe(0);
  expect(block.length).toBe(array.size);
  const got: unknown[] = [];
  const want: unknown[] = [];
  for (let c = 0; c < src.shape[3]; c++)
    for (let z = 0; z < nz; z++)
      for (let y = 0; y < ny; y++)
        for (let x = 0; x < nx; x++) {
          got.push(block[x + nx * (y + ny * (z + nz * c))]);
          want.push(conv(value(b.min[0] + x, b.min[1] + y, b.min[2] + z, c)));
        }
  expect(got).toEqual(want);
}

describe("header parsing", () => {
  test("reads descr, order and shape of a version 1.0 header", () => {
    const h = parseNpyHeader(
      npyBytes("{'descr': '>u2', 'fortran_order': True, 'shape': (7, 8, 9), }", new Uint8Array(0)),
    );
    expect(h).toMatchObject({
      descr: ">u2",
      dataType: "uint16",
      bigEndian: true,
      fortranOrder: true,
      shape: [7, 8, 9],
    });
    expect(h.dataOffset % 64).toBe(0);
  });

  test("refuses float16, complex and structured dtypes", () => {
    for (const d of ["'<f2'", "'<c8'", "[('a', '<i4')]"]) {
      const bytes = npyBytes(
        `{'descr': ${d}, 'fortran_order': False, 'shape': (2,), }`,
        new Uint8Array(0),
      );
      expect(() => parseNpyHeader(bytes)).toThrow(UnsupportedDataTypeError);
    }
  });

  test("refuses a file without the magic string", () => {
    expect(() => parseNpyHeader(new TextEncoder().encode("PK\u0003\u0004 not npy"))).toThrow(
      CorruptSourceError,
    );
  });
});

describe("files written from TypeScript bytes", () => {
  // C order (z=3, y=4, x=5) little-endian uint16 and the same volume in Fortran order (x, y, z)
  const X = 5;
  const Y = 4;
  const Z = 3;
  const boxes: BlockBox[] = [
    { min: [0, 0, 0], max: [5, 4, 3] },
    { min: [1, 1, 1], max: [4, 3, 3] },
    { min: [4, 0, 2], max: [5, 4, 3] },
  ];

  for (const whole of [true, false]) {
    const mode = whole ? "read whole" : "read by spans";
    test(`C order zyx, ${mode}`, async () => {
      const d = new Uint16Array(X * Y * Z);
      for (let z = 0; z < Z; z++)
        for (let y = 0; y < Y; y++)
          for (let x = 0; x < X; x++) d[(z * Y + y) * X + x] = value(x, y, z, 0);
      const file = path.join(dir, `c-${whole}.npy`);
      writeFileSync(
        file,
        npyBytes(
          `{'descr': '<u2', 'fortran_order': False, 'shape': (${Z}, ${Y}, ${X}), }`,
          new Uint8Array(d.buffer),
        ),
      );
      const src = await openNpy(file, { maxWholeFileBytes: whole ? undefined : 0 });
      expect(src.shape).toEqual([X, Y, Z, 1]);
      expect(src.dataType).toBe("uint16");
      for (const b of boxes) await expectFormula(src, b);
      await src.close();
    });

    test(`Fortran order xyz big-endian int32, ${mode}`, async () => {
      const bytes = new Uint8Array(X * Y * Z * 4);
      const dv = new DataView(bytes.buffer);
      for (let z = 0; z < Z; z++)
        for (let y = 0; y < Y; y++)
          for (let x = 0; x < X; x++)
            dv.setInt32(4 * (x + X * (y + Y * z)), -value(x, y, z, 0), false);
      const file = path.join(dir, `f-${whole}.npy`);
      writeFileSync(
        file,
        npyBytes(
          `{'descr': '>i4', 'fortran_order': True, 'shape': (${X}, ${Y}, ${Z}), }`,
          bytes,
          2,
        ),
      );
      const src = await openNpy(file, { maxWholeFileBytes: whole ? undefined : 0 });
      expect(src.shape).toEqual([X, Y, Z, 1]);
      expect(src.dataType).toBe("int32");
      for (const b of boxes) await expectFormula(src, b, (v) => 0 - v);
      await src.close();
    });
  }

  test("a small block of a large file reads only the rows it covers", async () => {
    const [x, y, z] = [256, 128, 16];
    const file = path.join(dir, "big.npy");
    writeFileSync(
      file,
      npyBytes(
        `{'descr': '|u1', 'fortran_order': False, 'shape': (${z}, ${y}, ${x}), }`,
        new Uint8Array(x * y * z),
      ),
    );
    const src = (await openNpy(file, { maxWholeFileBytes: 0 })) as VolumeSource & {
      bytesRead: number;
    };
    await src.readBlock({ min: [10, 20, 3], max: [20, 30, 5] });
    // 2 slices x 10 rows, each row read whole (256 bytes), not the 512 KiB file
    expect(src.bytesRead).toBeLessThanOrEqual(2 * 10 * 256);
    await src.close();
  });

  test("a file loaded whole holds no descriptor; a streamed one holds one until close", async () => {
    // A source kept open in the ingest stage's cache must not pin a FileHandle
    // that garbage collection later closes with a warning.
    if (!existsSync("/proc/self/fd")) {
      console.log("skipped: counting descriptors needs /proc/self/fd (Linux)");
      return;
    }
    const fds = () => readdirSync("/proc/self/fd").length;
    const file = path.join(dir, "fd.npy");
    writeFileSync(file, encodeNpy(new Uint16Array(64), [4, 4, 4]));
    const before = fds();
    const whole = await openNpy(file);
    expect(fds()).toBe(before);
    expect((await whole.readBlock({ min: [0, 0, 0], max: [4, 4, 4] })).data.length).toBe(64);
    await whole.close(); // closing again is harmless
    const streamed = await openNpy(file, { maxWholeFileBytes: 0 });
    expect(fds()).toBe(before + 1);
    await streamed.close();
    await streamed.close();
    expect(fds()).toBe(before);
  });

  test("a truncated file is a CorruptSourceError naming the file", async () => {
    const file = path.join(dir, "short.npy");
    writeFileSync(
      file,
      npyBytes(
        "{'descr': '<u2', 'fortran_order': False, 'shape': (3, 4, 5), }",
        new Uint8Array(10),
      ),
    );
    const err = await openNpy(file).catch((e) => e);
    expect(err).toBeInstanceOf(CorruptSourceError);
    expect(err.message).toContain(file);
  });
});

describe("files written by numpy (fixtures/make_fixtures.py)", () => {
  for (const whole of [true, false]) {
    const o = { maxWholeFileBytes: whole ? undefined : 0 };
    test(`big-endian uint16, C order (z, y, x) (${whole ? "whole" : "spans"})`, async () => {
      const src = await openNpy(path.join(FIXTURES, "numpy_c_zyx_be_u16.npy"), o);
      expect([src.shape, src.dataType]).toEqual([[5, 4, 3, 1], "uint16"]);
      await expectFormula(src, { min: [0, 0, 0], max: [5, 4, 3] });
      await expectFormula(src, { min: [2, 1, 1], max: [5, 3, 2] });
      await src.close();
    });

    test(`float32, Fortran order [x, y, z, c] (${whole ? "whole" : "spans"})`, async () => {
      const src = await openNpy(path.join(FIXTURES, "numpy_f_xyzc_f32.npy"), o);
      expect([src.shape, src.dataType]).toEqual([[5, 4, 3, 2], "float32"]);
      await expectFormula(src, { min: [0, 0, 0], max: [5, 4, 3] });
      await expectFormula(src, { min: [1, 2, 1], max: [4, 4, 3] });
      await src.close();
    });

    test(`int64 (c, z, y, x), format 2.0 (${whole ? "whole" : "spans"})`, async () => {
      const src = await openNpy(path.join(FIXTURES, "numpy_c_czyx_i64_v2.npy"), o);
      expect([src.shape, src.dataType]).toEqual([[5, 4, 3, 2], "int64"]);
      await expectFormula(src, { min: [0, 0, 0], max: [5, 4, 3] }, BigInt);
      await expectFormula(src, { min: [3, 0, 2], max: [5, 1, 3] }, BigInt);
      await src.close();
    });
  }

  test("an axes option overrides the default order", async () => {
    // read the (z, y, x) file as if it were (x, y, z): x and z swap roles
    const src = await openNpy(path.join(FIXTURES, "numpy_c_zyx_be_u16.npy"), { axes: "xyz" });
    expect(src.shape).toEqual([3, 4, 5, 1]);
    const b = (await src.readBlock({ min: [2, 3, 4], max: [3, 4, 5] })).data as Uint16Array;
    expect(b[0]).toBe(value(4, 3, 2, 0));
    await src.close();
  });
});

describe("encodeNpy", () => {
  test("writes the bytes numpy writes for a Fortran-order [x, y, z, c] array", async () => {
    const file = path.join(FIXTURES, "numpy_f_xyzc_f32.npy");
    const src = await openNpy(file);
    const data = (await src.readBlock({ min: [0, 0, 0], max: [5, 4, 3] })).data as Float32Array;
    await src.close();
    expect(Buffer.from(encodeNpy(data, [5, 4, 3, 2]))).toEqual(readFileSync(file));
  });

  test("round-trips every data type through openNpy", async () => {
    const shape = [7, 3, 2, 2];
    const n = 7 * 3 * 2 * 2;
    for (const data of [
      Uint8Array.from({ length: n }, (_, i) => i),
      Int16Array.from({ length: n }, (_, i) => -i),
      Uint32Array.from({ length: n }, (_, i) => i * 65599),
      BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 2n ** 40n + 3n),
      Float64Array.from({ length: n }, (_, i) => i / 7),
    ]) {
      const file = path.join(dir, `enc-${data.constructor.name}.npy`);
      writeFileSync(file, encodeNpy(data, shape));
      const src = await openNpy(file);
      expect(src.shape).toEqual(shape);
      const back = (await src.readBlock({ min: [0, 0, 0], max: [7, 3, 2] })).data;
      await src.close();
      expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength)).toEqual(
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      );
    }
    expect(() => encodeNpy(new Uint8Array(5), [2, 2])).toThrow(/do not hold shape/);
  });
});
