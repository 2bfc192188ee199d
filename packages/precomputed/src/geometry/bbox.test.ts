import fc from "fast-check";
import { Bbox, ceilNear, floorNear } from "./bbox";
import { BboxError } from "./errors";
import type { Vec3 } from "./vec3";

const coord = fc.integer({ min: -40, max: 40 });
const vec = fc.tuple(coord, coord, coord);
const ext = fc.tuple(
  fc.integer({ min: 0, max: 20 }),
  fc.integer({ min: 0, max: 20 }),
  fc.integer({ min: 0, max: 20 }),
);
const bbox = fc.tuple(vec, ext).map(([m, s]) => Bbox.fromSize(m, s));
const pos = fc.integer({ min: 1, max: 9 });
const chunk = fc.tuple(pos, pos, pos);

describe("Bbox construction", () => {
  test("rejects min above max and non-integer corners, naming the box", () => {
    expect(() => new Bbox([0, 0, 5], [1, 1, 4])).toThrow(BboxError);
    expect(() => new Bbox([0, 0, 5], [1, 1, 4])).toThrow(/\[0, 0, 5\]-\[1, 1, 4\]/);
    expect(() => new Bbox([0.5, 0, 0], [1, 1, 1])).toThrow(/min must be three safe integers/);
  });

  test("size, volume and empty", () => {
    const b = new Bbox([1, 2, 3], [4, 6, 8]);
    expect(b.size()).toEqual([3, 4, 5]);
    expect(b.volume()).toBe(60);
    expect(b.empty()).toBe(false);
    expect(new Bbox([1, 2, 3], [4, 2, 8]).empty()).toBe(true);
  });

  test("chunk names parse and format, including negative coordinates", () => {
    const b = Bbox.parseChunkName("0-64_128-192_-64-0");
    expect(b.min).toEqual([0, 128, -64]);
    expect(b.max).toEqual([64, 192, 0]);
    expect(b.toChunkName()).toBe("0-64_128-192_-64-0");
    expect(Bbox.parseChunkName("8_8_8/0-64_0-64_0-10").max).toEqual([64, 64, 10]);
    expect(() => Bbox.parseChunkName("0-64_0-64")).toThrow(BboxError);
  });

  test("JSON round trip and accepted input forms", () => {
    const b = new Bbox([1, 2, 3], [4, 5, 6]);
    expect(JSON.parse(JSON.stringify(b))).toEqual({ minpt: [1, 2, 3], maxpt: [4, 5, 6] });
    expect(Bbox.fromJSON(JSON.parse(JSON.stringify(b))).equals(b)).toBe(true);
    expect(Bbox.fromJSON({ min: [1, 2, 3], max: [4, 5, 6] }).equals(b)).toBe(true);
    expect(
      Bbox.fromJSON([
        [1, 2, 3],
        [4, 5, 6],
      ]).equals(b),
    ).toBe(true);
    expect(Bbox.fromJSON("1-4_2-5_3-6").equals(b)).toBe(true);
    expect(() => Bbox.fromJSON({ minpt: [1, 2] })).toThrow(BboxError);
  });
});

describe("Bbox algebra", () => {
  test("contains is half-open", () => {
    const b = new Bbox([0, 0, 0], [2, 2, 2]);
    expect(b.contains([1, 1, 1])).toBe(true);
    expect(b.contains([2, 1, 1])).toBe(false);
    expect(b.contains(new Bbox([0, 0, 0], [2, 2, 2]))).toBe(true);
    expect(b.contains(new Bbox([0, 0, 0], [3, 2, 2]))).toBe(false);
  });

  test("intersection is commutative, idempotent and inside both", () => {
    fc.assert(
      fc.property(bbox, bbox, (a, b) => {
        const i = a.intersect(b);
        expect(i.volume()).toBe(b.intersect(a).volume());
        if (!i.empty()) expect(i.equals(b.intersect(a))).toBe(true);
        expect(a.intersect(a).equals(a)).toBe(true);
        if (!i.empty()) expect(a.contains(i) && b.contains(i)).toBe(true);
        expect(a.intersects(b)).toBe(!i.empty());
      }),
    );
  });

  test("a voxel is in the intersection iff it is in both boxes", () => {
    fc.assert(
      fc.property(bbox, bbox, vec, (a, b, p) => {
        expect(a.intersect(b).contains(p)).toBe(a.contains(p) && b.contains(p));
      }),
    );
  });

  test("union holds both, is commutative and associative", () => {
    fc.assert(
      fc.property(bbox, bbox, bbox, (a, b, c) => {
        const u = a.union(b);
        if (!a.empty()) expect(u.contains(a)).toBe(true);
        if (!b.empty()) expect(u.contains(b)).toBe(true);
        if (!a.empty() && !b.empty()) expect(u.equals(b.union(a))).toBe(true);
        const l = a.union(b).union(c);
        const r = a.union(b.union(c));
        if (!(a.empty() && b.empty() && c.empty())) expect(l.equals(r)).toBe(true);
      }),
    );
  });

  test("absorption: a ∩ (a ∪ b) = a for non-empty boxes", () => {
    fc.assert(
      fc.property(bbox, bbox, (a, b) => {
        fc.pre(!a.empty());
        expect(a.intersect(a.union(b)).equals(a)).toBe(true);
      }),
    );
  });

  test("translate, grow and shrink", () => {
    const b = new Bbox([0, 0, 0], [10, 10, 10]);
    expect(b.translate([1, -2, 3]).toString()).toBe("1-11_-2-8_3-13");
    expect(b.grow({ high: [1, 1, 1] }).toString()).toBe("0-11_0-11_0-11");
    expect(b.grow(2).toString()).toBe("-2-12_-2-12_-2-12");
    expect(b.shrink({ low: [1, 0, 0] }).toString()).toBe("1-10_0-10_0-10");
    expect(b.grow(3).shrink(3).equals(b)).toBe(true);
    expect(() => b.shrink(6)).toThrow(BboxError);
  });
});

describe("Bbox chunk grid", () => {
  test("expandToChunks and shrinkToChunks respect the offset", () => {
    const b = new Bbox([5, 5, 5], [70, 70, 70]);
    expect(b.expandToChunks([64, 64, 64]).toString()).toBe("0-128_0-128_0-128");
    expect(b.expandToChunks([64, 64, 64], [5, 5, 5]).toString()).toBe("5-133_5-133_5-133");
    expect(b.shrinkToChunks([32, 32, 32]).toString()).toBe("32-64_32-64_32-64");
    expect(new Bbox([1, 1, 1], [5, 5, 5]).shrinkToChunks([8, 8, 8]).empty()).toBe(true);
  });

  test("expanded boxes contain the original and are aligned; shrunk ones are inside", () => {
    fc.assert(
      fc.property(bbox, chunk, vec, (b, c, o) => {
        const e = b.expandToChunks(c, o);
        expect(e.contains(b)).toBe(true);
        expect(e.isAlignedTo(c, o)).toBe(true);
        const s = b.shrinkToChunks(c, o);
        if (!s.empty()) {
          expect(b.contains(s)).toBe(true);
          expect(s.isAlignedTo(c, o)).toBe(true);
        }
      }),
    );
  });

  test("the dataset's upper edge counts as aligned", () => {
    const bounds = new Bbox([0, 0, 0], [100, 100, 10]);
    const b = new Bbox([64, 0, 0], [100, 64, 10]);
    expect(b.isAlignedTo([64, 64, 64])).toBe(false);
    expect(b.isAlignedTo([64, 64, 64], [0, 0, 0], bounds)).toBe(true);
    expect(new Bbox([1, 0, 0], [64, 64, 10]).isAlignedTo([64, 64, 64], [0, 0, 0], bounds)).toBe(
      false,
    );
  });

  test("chunks are x-fastest and clipped to the bound", () => {
    const bounds = new Bbox([0, 0, 0], [100, 70, 10]);
    const names = [...bounds.chunks([64, 64, 64], [0, 0, 0], bounds)].map(String);
    expect(names).toEqual([
      "0-64_0-64_0-10",
      "64-100_0-64_0-10",
      "0-64_64-70_0-10",
      "64-100_64-70_0-10",
    ]);
  });

  test("chunks clipped to the box itself cover every voxel exactly once", () => {
    fc.assert(
      fc.property(bbox, chunk, vec, (b, c, o) => {
        const seen = new Uint8Array(b.volume());
        const [sx, sy] = b.size();
        for (const cell of b.chunks(c, o, b)) {
          expect(b.contains(cell)).toBe(true);
          for (let z = cell.min[2]; z < cell.max[2]; z++)
            for (let y = cell.min[1]; y < cell.max[1]; y++)
              for (let x = cell.min[0]; x < cell.max[0]; x++)
                seen[x - b.min[0] + sx * (y - b.min[1] + sy * (z - b.min[2]))]++;
        }
        expect(seen.every((n) => n === 1)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  test("chunkCells gives grid coordinates relative to the offset", () => {
    const cells = [...new Bbox([10, 0, 0], [140, 64, 64]).chunkCells([64, 64, 64], [10, 0, 0])];
    expect(cells.map((c) => c.grid)).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ]);
    expect(cells[2].bbox.toString()).toBe("138-202_0-64_0-64");
  });

  test("unclipped chunks are whole grid cells", () => {
    const cells = [...new Bbox([3, 0, 0], [5, 1, 1]).chunks([4, 4, 4], [1, 0, 0])];
    expect(cells.map(String)).toEqual(["1-5_0-4_0-4"]);
    expect(new Bbox([3, 0, 0], [5, 1, 1]).gridRange([4, 4, 4], [1, 0, 0]).toString()).toBe(
      "0-1_0-1_0-1",
    );
  });
});

describe("Bbox between mips", () => {
  test("downsample floors min and ceils max", () => {
    expect(new Bbox([1, 3, 5], [9, 10, 11]).downsample([2, 2, 1]).toString()).toBe("0-5_1-5_5-11");
  });

  test("upsample then downsample is the identity; downsample then upsample contains", () => {
    fc.assert(
      fc.property(bbox, chunk, (b, f) => {
        expect(b.upsample(f).downsample(f).equals(b)).toBe(true);
        expect(b.downsample(f).upsample(f).contains(b)).toBe(true);
      }),
    );
  });

  test("toMip is not thrown off by rounding at resolutions that are not whole numbers", () => {
    // 6 * 3.8 / 7.6 is 2.9999999999999996 in binary floating point.
    const b = new Bbox([6, 6, 0], [42, 42, 1]);
    expect(b.toMip([3.8, 29.7, 40], [7.6, 59.4, 40]).toString()).toBe("3-21_3-21_0-1");
    expect(new Bbox([5, 0, 0], [7, 1, 1]).toMip([3.8, 1, 1], [7.6, 1, 1]).toString()).toBe(
      "2-4_0-1_0-1",
    );
    expect(floorNear(2.9999999999999996)).toBe(3);
    expect(floorNear(2.9)).toBe(2);
    expect(ceilNear(3.0000000000000004)).toBe(3);
    expect(ceilNear(3.1)).toBe(4);
    // Genuine fractions stay fractions, even close to whole numbers.
    expect(floorNear(2.9999999995)).toBe(2);
    expect(floorNear(9999999.995)).toBe(9999999);
  });

  test("toMip uses resolutions like CloudVolume's bbox_to_mip", () => {
    const r0: Vec3 = [4, 4, 40];
    const r1: Vec3 = [8, 8, 40];
    const b = new Bbox([3, 3, 3], [9, 9, 9]);
    expect(b.toMip(r0, r1).toString()).toBe("1-5_1-5_3-9");
    expect(b.toMip(r0, r1).toMip(r1, r0).contains(b)).toBe(true);
    fc.assert(
      fc.property(bbox, chunk, (bb, f) => {
        const hi: Vec3 = [r0[0] * f[0], r0[1] * f[1], r0[2] * f[2]];
        expect(bb.toMip(r0, hi).equals(bb.downsample(f))).toBe(true);
        expect(bb.toMip(hi, r0).equals(bb.upsample(f))).toBe(true);
      }),
    );
  });
});
