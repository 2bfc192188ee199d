import fc from "fast-check";
import { SHARED_OUTPUT_BUDGET } from "../../precomputed/src/codecs/fresh_words";
import { countVoxels } from "./counts";
import type { IntegerLabelArray } from "./label-array";
import { RemapMissingIdError, RemapRangeError, RemapTableError, remap, remapWith } from "./remap";
import { renumber } from "./renumber";
import { SegmentationOptionError } from "./watershed/errors";

const list = (a: IntegerLabelArray): (number | bigint)[] =>
  Array.from(a as ArrayLike<number | bigint>);

describe("remap", () => {
  test("a Map, (from, to) pairs and a dense array give the same result", () => {
    const labels = new Uint32Array([0, 5, 5, 9, 0]);
    const want = [0, 1, 1, 2, 0];
    expect(
      list(
        remap(
          labels,
          new Map([
            [0, 0],
            [5, 1],
            [9, 2],
          ]),
        ),
      ),
    ).toEqual(want);
    expect(
      list(remap(labels, { from: new Uint32Array([0, 5, 9]), to: new Uint32Array([0, 1, 2]) })),
    ).toEqual(want);
    expect(list(remap(labels, [0, 0, 0, 0, 0, 1, 0, 0, 0, 2]))).toEqual(want);
  });

  test("uint64 ids are looked up by both words", () => {
    const labels = new BigUint64Array([7n, (1n << 32n) | 7n, 7n]);
    const table = new Map<bigint, bigint>([
      [7n, 1n],
      [(1n << 32n) | 7n, 2n ** 40n],
    ]);
    expect(list(remap(labels, table) as BigUint64Array)).toEqual([1n, 2n ** 40n, 1n]);
  });

  test("uint64 ids whose bytes read as -0 or NaN doubles are told apart, and written exactly", () => {
    // 2^63 has the bytes of -0 (equal to +0 as a double); the others are NaN patterns.
    const negZero = 2n ** 63n;
    const nanA = 0x7ff8000000000001n;
    const nanB = 0xfff0000000000001n;
    const labels = new BigUint64Array([0n, negZero, negZero, 0n, nanA, nanA, nanB, 0n]);
    const table = new Map<bigint, bigint>([
      [0n, nanB],
      [negZero, 3n],
      [nanA, negZero],
      [nanB, nanA],
    ]);
    expect(list(remap(labels, table))).toEqual([nanB, 3n, 3n, nanB, negZero, negZero, nanA, nanB]);
  });

  test("an id missing from the table is a RemapMissingIdError naming it and the context", () => {
    const labels = new BigUint64Array([1n, 2n ** 50n]);
    const run = () => remap(labels, new Map([[1n, 1n]]), { context: "file:///seg 0-2_0-1_0-1" });
    expect(run).toThrow(RemapMissingIdError);
    expect(run).toThrow(`id ${2n ** 50n} in file:///seg 0-2_0-1_0-1 is not in the table`);
  });

  test("preserveMissing keeps ids the table lacks", () => {
    expect(
      list(remap(new Uint16Array([1, 2, 3]), new Map([[2, 9]]), { preserveMissing: true })),
    ).toEqual([1, 9, 3]);
  });

  test("a value the output type cannot hold is a RemapRangeError", () => {
    const run = () => remap(new Uint32Array([4]), new Map([[4, 300]]), { dataType: "uint8" });
    expect(run).toThrow(RemapRangeError);
    expect(run).toThrow(/id 4 maps to 300, which a uint8 array cannot hold/);
  });

  test("signed labels and a table of negative ids", () => {
    expect(
      list(
        remap(
          new Int32Array([-1, 3]),
          new Map([
            [-1, 0],
            [3, -7],
          ]),
        ),
      ),
    ).toEqual([0, -7]);
  });

  test("inPlace writes into the labels and returns them, equal to a new array's result", () => {
    const n = 70_000;
    for (const engine of ["wasm", "js"] as const) {
      const labels = BigUint64Array.from(
        { length: n },
        (_, i) => BigInt(Math.floor(i / 9) % 700) << 33n,
      );
      const table = new Map<bigint, bigint>();
      for (let k = 0; k < 600; k++) table.set(BigInt(k) << 33n, BigInt(k) + 2n ** 50n);
      const want = remapWith(labels, table, { preserveMissing: true }, engine) as BigUint64Array;
      const got = remapWith(labels, table, { preserveMissing: true, inPlace: true }, engine);
      expect(got).toBe(labels);
      expect(Buffer.from(labels.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    }
    const view = new Uint16Array([9, 1, 2, 2, 9]).subarray(1, 4);
    expect(list(remap(view, [0, 5, 6], { inPlace: true }))).toEqual([5, 6, 6]);
    expect(list(new Uint16Array(view.buffer))).toEqual([9, 5, 6, 6, 9]);
  });

  test("inPlace with another output type is a SegmentationOptionError", () => {
    const run = () => remap(new Uint32Array([1]), [0, 1], { inPlace: true, dataType: "uint8" });
    expect(run).toThrow(SegmentationOptionError);
    expect(run).toThrow(/inPlace writes into the uint32 labels; dataType uint8 needs a new array/);
  });

  test("a table with from and to of different lengths is a RemapTableError", () => {
    expect(() => remap(new Uint8Array(1), { from: [1, 2], to: [1] })).toThrow(RemapTableError);
    expect(() =>
      remap(new BigUint64Array(1), { from: new BigUint64Array(2), to: new BigUint64Array(1) }),
    ).toThrow(RemapTableError);
  });

  test("64-bit typed-array tables (read as words) equal the same Map, repeated ids included", () => {
    const from = BigUint64Array.from([2n ** 40n, 0n, 7n, 2n ** 40n, 2n ** 64n - 1n]);
    const to = BigUint64Array.from([1n, 2n ** 63n, 3n, 9n, 5n]);
    const labels = BigUint64Array.from([0n, 2n ** 40n, 7n, 2n ** 64n - 1n, 2n ** 40n]);
    const asMap = new Map<bigint, bigint>(Array.from(from, (f, k) => [f, to[k]]));
    expect(list(remap(labels, { from, to }))).toEqual(list(remap(labels, asMap)));
    expect(list(remap(labels, { from, to }))).toEqual([2n ** 63n, 9n, 3n, 5n, 9n]);
    const signed = BigInt64Array.from([-1n, 2n ** 40n]);
    expect(
      list(
        remap(signed, {
          from: BigInt64Array.from([-1n, 2n ** 40n]),
          to: BigInt64Array.from([-5n, 6n]),
        }),
      ),
    ).toEqual([-5n, 6n]);
    expect(() => remap(BigUint64Array.from([4n]), { from, to })).toThrow(RemapMissingIdError);
  });
});

describe("remap in WebAssembly against the JavaScript loops", () => {
  const arrays = {
    uint8: Uint8Array,
    int16: Int16Array,
    uint32: Uint32Array,
    uint64: BigUint64Array,
    int64: BigInt64Array,
  } as const;
  const types: [keyof typeof arrays, (v: bigint) => number | bigint][] = [
    ["uint8", (v) => Number(BigInt.asUintN(8, v))],
    ["int16", (v) => Number(BigInt.asIntN(16, v))],
    ["uint32", (v) => Number(BigInt.asUintN(32, v))],
    ["uint64", (v) => BigInt.asUintN(64, v)],
    ["int64", (v) => BigInt.asIntN(64, v)],
  ];

  test("property: every input and output type, tables with and without missing ids", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.constantFrom(...types),
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(11), { minLength: 1, maxLength: 400 }),
        fc.boolean(),
        fc.boolean(),
        ([inType, inCast], [outType, outCast], pool, picks, preserve, dropOne) => {
          const make = arrays[inType] as unknown as {
            from(values: (number | bigint)[]): IntegerLabelArray;
          };
          const labels = make.from(picks.map((p) => inCast(pool[p % pool.length])));
          const ids = [...new Set(list(labels))];
          // Values in the output type; some ids left out when dropOne.
          const table = new Map(
            ids.slice(dropOne ? 1 : 0).map((id, k) => [id, outCast(BigInt(k) * 7919n + 2n ** 33n)]),
          );
          const run = (engine: "wasm" | "js") => {
            try {
              return list(
                remapWith(labels, table, { preserveMissing: preserve, dataType: outType }, engine),
              );
            } catch (e) {
              return (e as Error).message;
            }
          };
          expect(run("wasm")).toEqual(run("js"));
        },
      ),
      { numRuns: 400 },
    );
  });

  test("runs of every length 1..80 across chunk ends, in every pair of widths", () => {
    // The module compares and stores 16 bytes at a time and writes past a
    // run's end; runs here end at every offset within a vector and span the
    // 32,768-voxel chunks, and the array ends inside a run.
    const n = 70_001;
    const ids = new Uint32Array(n);
    let seed = 7;
    let id = 0;
    for (let i = 0; i < n; ) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const length = 1 + (seed % 80);
      id = (id + 1 + ((seed >>> 8) % 3)) % 200;
      ids.fill(id, i, Math.min(n, i + length));
      i += length;
    }
    const all = {
      uint8: Uint8Array,
      uint16: Uint16Array,
      uint32: Uint32Array,
      uint64: BigUint64Array,
      int8: Int8Array,
      int64: BigInt64Array,
    } as const;
    for (const inType of Object.keys(all) as (keyof typeof all)[]) {
      const wide = inType.endsWith("64");
      const labels = (
        all[inType] as unknown as { from(v: ArrayLike<number | bigint>): IntegerLabelArray }
      ).from(wide ? Array.from(ids, (v) => BigInt(v) * 3n) : Array.from(ids, (v) => v % 120));
      const distinct = [...new Set(list(labels))];
      for (const outType of Object.keys(all) as (keyof typeof all)[]) {
        const bits = Number(outType.replace(/\D/g, ""));
        const value = (k: number) => {
          const v = BigInt(k * 37 + 1) % 2n ** BigInt(Math.min(bits - 1, 40));
          return outType.endsWith("64") ? v : Number(v);
        };
        const table = new Map(distinct.map((d, k) => [d, value(k)]));
        const got = remapWith(labels, table, { dataType: outType }, "wasm");
        const want = remapWith(labels, table, { dataType: outType }, "js");
        expect([inType, outType, Buffer.from(got.buffer).equals(Buffer.from(want.buffer))]).toEqual(
          [inType, outType, true],
        );
      }
    }
  });

  test("an id missing in the middle of a run that spans a chunk end is kept there", () => {
    const n = 40_000;
    const labels = new BigUint64Array(n).fill(5n);
    labels.fill(2n ** 40n, 32_760, 32_790);
    const table = new Map([[5n, 1n]]);
    const got = remapWith(labels, table, { preserveMissing: true }, "wasm") as BigUint64Array;
    const want = remapWith(labels, table, { preserveMissing: true }, "js") as BigUint64Array;
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    expect([got[32_759], got[32_760], got[32_789], got[32_790]]).toEqual([
      1n,
      2n ** 40n,
      2n ** 40n,
      1n,
    ]);
    expect(() => remapWith(labels, table, {}, "wasm")).toThrow(
      `id ${2n ** 40n} is not in the table`,
    );
  });

  test("many chunks, ids above 2^32, missing ids kept in late chunks, and a growing table", () => {
    const n = 300_000;
    const labels = new BigUint64Array(n);
    for (let i = 0; i < n; i++) labels[i] = (BigInt(Math.floor(i / 13) % 5000) << 33n) | 3n;
    // The table has the first 1000 ids; the 4000 others are kept as they are.
    const table = new Map<bigint, bigint>();
    for (let k = 0; k < 1000; k++) table.set((BigInt(k) << 33n) | 3n, BigInt(k) + 2n ** 40n);
    const got = remapWith(labels, table, { preserveMissing: true }, "wasm") as BigUint64Array;
    const want = remapWith(labels, table, { preserveMissing: true }, "js") as BigUint64Array;
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    expect(got[n - 1]).toBe(labels[n - 1]);
    expect(got[0]).toBe(2n ** 40n);
    expect(() => remapWith(labels, table, {}, "wasm")).toThrow(RemapMissingIdError);
  });
});

describe("renumber", () => {
  test("ids in order of first appearance from start, zero kept, the smallest type", () => {
    const r = renumber(new BigUint64Array([0n, 7n, 2n ** 40n, 7n]));
    expect(r.dataType).toBe("uint8");
    expect(Array.from(r.labels as Uint8Array)).toEqual([0, 1, 2, 1]);
    expect(Array.from(r.mapping.from as BigUint64Array)).toEqual([7n, 2n ** 40n]);
    expect(Array.from(r.mapping.to)).toEqual([1, 2]);
  });

  test("preserveZero false numbers 0 like any id; start shifts the ids", () => {
    const r = renumber(new Uint32Array([5, 0, 5]), { preserveZero: false, start: 10 });
    expect(Array.from(r.labels as Uint8Array)).toEqual([10, 11, 10]);
  });

  test("uint64 ids whose bytes read as -0 or NaN doubles are told apart", () => {
    const nan = 0x7ff8000000000001n;
    const r = renumber(new BigUint64Array([0n, 2n ** 63n, 2n ** 63n, 0n, nan, nan, nan + 1n]));
    expect(Array.from(r.labels as Uint8Array)).toEqual([0, 1, 1, 0, 2, 2, 3]);
  });

  test("start 0 without preserveZero, and other starts, in uint8 and uint16", () => {
    expect(
      list(renumber(new Uint32Array([5, 0, 5]), { preserveZero: false, start: 0 }).labels),
    ).toEqual([0, 1, 0]);
    expect(list(renumber(new Uint32Array([9, 0, 4, 9]), { start: 7 }).labels)).toEqual([
      7, 0, 8, 7,
    ]);
    const many = Uint32Array.from({ length: 300 }, (_, i) => 1000 + i);
    const r = renumber(many);
    expect(r.dataType).toBe("uint16");
    expect(list(r.labels).slice(-2)).toEqual([299, 300]);
  });

  test("more than 65535 ids give uint32", () => {
    const labels = Uint32Array.from({ length: 70000 }, (_, i) => i * 3 + 1);
    const r = renumber(labels);
    expect(r.dataType).toBe("uint32");
    expect((r.labels as Uint32Array)[69999]).toBe(70000);
  });

  test("the uint16 indices widen to uint32 where the 65536th id appears (64-bit ids, any start)", () => {
    // 70,000 ids above 2^32, each twice, after a prefix of zeros and repeats.
    const ids = Array.from({ length: 70000 }, (_, i) => (BigInt(i) << 32n) | 9n);
    const labels = BigUint64Array.from([0n, 0n, ...ids, ...ids.slice(0, 5)]);
    // [options, new id of ids[0], index of ids[k] in mapping.from minus k]
    for (const [options, first, shift] of [
      [{}, 1, 0],
      [{ start: 5 }, 5, 0],
      [{ preserveZero: false, start: 0 }, 1, 1],
    ] as const) {
      const r = renumber(labels, options);
      expect(r.dataType).toBe("uint32");
      const out = r.labels as Uint32Array;
      expect(out[0]).toBe(0);
      expect(out[2]).toBe(first);
      expect(out[2 + 69999]).toBe(first + 69999);
      expect(out[2 + 70000 + 4]).toBe(first + 4);
      expect(r.mapping.from[69999 + shift]).toBe(ids[69999]);
    }
  });

  test("property: remap(labels, mapping) inverts renumber", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { maxLength: 40 }),
        fc.array(fc.nat(39), { maxLength: 300 }),
        (pool, picks) => {
          if (pool.length === 0) return;
          const labels = BigUint64Array.from(picks, (p) => pool[p % pool.length]);
          const r = renumber(labels);
          const back = new Map<number, bigint>([[0, 0n]]);
          for (let k = 0; k < r.mapping.to.length; k++)
            back.set(r.mapping.to[k], (r.mapping.from as BigUint64Array)[k]);
          const wide = BigUint64Array.from(r.labels as ArrayLike<number>, (v) => BigInt(v));
          expect(remap(wide, new Map([...back].map(([k, v]) => [BigInt(k), v])))).toEqual(labels);
        },
      ),
    );
  });
});

describe("countVoxels", () => {
  test("counts per id in ascending id order, 0 included", () => {
    const c = countVoxels(new Uint32Array([3, 3, 0, 7, 3]));
    expect(Array.from(c.ids as Uint32Array)).toEqual([0, 3, 7]);
    expect(Array.from(c.counts)).toEqual([1, 3, 1]);
  });

  test("signed ids sort by value; uint64 by both words", () => {
    expect(Array.from(countVoxels(new Int8Array([5, -3, 5])).ids as Int8Array)).toEqual([-3, 5]);
    const c = countVoxels(new BigUint64Array([2n ** 33n, 1n, 2n ** 33n]));
    expect(Array.from(c.ids as BigUint64Array)).toEqual([1n, 2n ** 33n]);
    expect(Array.from(c.counts)).toEqual([1, 2]);
  });

  test("property: counts sum to the voxels and match a Map count", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 500 }), (values) => {
        const c = countVoxels(Uint32Array.from(values));
        const want = new Map<number, number>();
        for (const v of values) want.set(v, (want.get(v) ?? 0) + 1);
        expect(new Map(Array.from(c.ids as Uint32Array, (id, k) => [id, c.counts[k]]))).toEqual(
          want,
        );
      }),
    );
  });
});

describe("large outputs", () => {
  /** Whether this jest worker can hold `bytes` more within the shared-output budget. */
  const room = (bytes: number) => {
    if (process.memoryUsage().arrayBuffers + bytes <= SHARED_OUTPUT_BUDGET) return true;
    console.log("skipped: this jest worker already holds the shared-output budget");
    return false;
  };
  /** The array's own bytes (a WebAssembly output's buffer is longer than the array). */
  const bytesOf = (a: IntegerLabelArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

  test("a remap output of 64 MiB or more lives in WebAssembly memory, with every voxel right", () => {
    if (!room(2 ** 28)) return;
    const n = 2 ** 23; // 8 Mi uint64 = 64 MiB
    const labels = new Uint32Array(n);
    for (let i = 0; i < n; i++) labels[i] = i & 7;
    const out = remap(labels, [0, 10, 20, 30, 40, 50, 60, 70], { dataType: "uint64" });
    // The module wrote it in place: its buffer is the module's shared memory,
    // which goes on past the array (the module's table and a chunk of ids).
    expect(out.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBeGreaterThan(out.byteLength);
    const words = new Uint32Array(out.buffer, 0, 2 * n);
    let wrong = 0;
    for (let i = 0; i < n; i++)
      if (words[2 * i] !== (i & 7) * 10 || words[2 * i + 1] !== 0) wrong++;
    expect(wrong).toBe(0);
    const small = remap(labels.subarray(0, 1000), [0, 10, 20, 30, 40, 50, 60, 70]);
    expect(small.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  });

  test("just under 64 MiB the output is an ordinary array; at 64 MiB it is in WebAssembly memory", () => {
    if (!room(2 ** 28)) return;
    const n = 2 ** 24; // uint32 out: 64 MiB; one voxel less is under
    const labels = new Uint16Array(n);
    for (let i = 0; i < n; i++) labels[i] = (i >>> 5) % 3001;
    const table = Array.from({ length: 3001 }, (_, k) => k * 7 + 2 ** 20);
    const under = remap(labels.subarray(0, n - 4), table, { dataType: "uint32" });
    expect(under.buffer.byteLength).toBe(under.byteLength);
    const want = remapWith(labels, table, { dataType: "uint32" }, "js");
    const at = remap(labels, table, { dataType: "uint32" });
    expect(at.buffer.byteLength).toBeGreaterThan(at.byteLength);
    expect(bytesOf(at).equals(bytesOf(want))).toBe(true);
    expect(bytesOf(under).equals(bytesOf(want).subarray(0, 4 * (n - 4)))).toBe(true);
  });

  test("in WebAssembly memory: 64-bit ids, runs across chunk ends, missing ids kept, a table that outgrows the memory", () => {
    if (!room(2 ** 28)) return;
    const n = 2 ** 23;
    const labels = new BigUint64Array(n);
    const w = new Uint32Array(labels.buffer);
    for (let i = 0; i < n; i++) {
      // Runs of 1..37 voxels of 5000 ids above 2^32, ending anywhere in a chunk.
      const id = Math.floor(i / (1 + (Math.floor(i / 4096) % 37))) % 5000;
      w[2 * i] = 3 + id;
      w[2 * i + 1] = id << 1;
    }
    // The table has 1000 of the ids; the others are kept, so the module's
    // table is rebuilt larger (and the memory grows) after the output exists.
    const table = new Map<bigint, bigint>();
    for (let k = 0; k < 1000; k++)
      table.set((BigInt(k << 1) << 32n) | BigInt(3 + k), BigInt(k) + 2n ** 40n);
    const got = remap(labels, table, { preserveMissing: true });
    expect(got.buffer.byteLength).toBeGreaterThan(got.byteLength);
    const want = remapWith(labels, table, { preserveMissing: true }, "js");
    expect(bytesOf(got).equals(bytesOf(want))).toBe(true);
    expect(() => remap(labels, table)).toThrow(RemapMissingIdError);
  });
});
