import { ShardSpecError } from "./errors";
import fixtures from "./fixtures/morton.json";
import { compressedMortonCode, decodeMortonChunkId, mortonChunkId, mortonPlan } from "./morton";

describe("compressed Morton codes", () => {
  test.each(fixtures)("grid $grid cell $g matches the Python reference", ({ grid, g, code }) => {
    const plan = mortonPlan(grid as [number, number, number]);
    const id = mortonChunkId(plan, g as [number, number, number]);
    expect(id.toString()).toBe(code);
    expect(decodeMortonChunkId(plan, id)).toEqual(g);
  });

  // Worked examples published with Neuroglancer's zorder tests: full 21/21/21
  // bits, and an uneven 18/15/17 split where exhausted axes drop out.
  test("Neuroglancer's 21,21,21 example", () => {
    const plan = mortonPlan([2 ** 21, 2 ** 21, 2 ** 21]);
    const id = BigInt("0b111000100010001111000100010001111000100010001");
    expect(decodeMortonChunkId(plan, id)).toEqual([
      0b100011000110001, 0b100101001010010, 0b101001010010100,
    ]);
    expect(mortonChunkId(plan, [0b100011000110001, 0b100101001010010, 0b101001010010100])).toBe(id);
  });

  test("Neuroglancer's 18,15,17 example", () => {
    const plan = mortonPlan([2 ** 18, 2 ** 15, 2 ** 17]);
    const id = BigInt("0b11101111000100010001111000100010001111000100010001");
    const g: [number, number, number] = [
      0b111100011000110001, 0b100101001010010, 0b10101001010010100,
    ];
    expect(decodeMortonChunkId(plan, id)).toEqual(g);
    expect(mortonChunkId(plan, g)).toBe(id);
  });

  test("codes are dense: a 2^k cube grid numbers its cells 0..n-1 exactly once", () => {
    const plan = mortonPlan([4, 4, 4]);
    const seen = new Set<bigint>();
    for (let z = 0; z < 4; z++)
      for (let y = 0; y < 4; y++)
        for (let x = 0; x < 4; x++) seen.add(mortonChunkId(plan, [x, y, z]));
    expect([...seen].sort((a, b) => Number(a - b))).toEqual(
      Array.from({ length: 64 }, (_, i) => BigInt(i)),
    );
  });

  test("the low-level form writes [lo, hi] words", () => {
    const plan = mortonPlan([2 ** 21, 2 ** 21, 2 ** 21]);
    const w = compressedMortonCode(plan, 2 ** 20, 0, 0);
    expect([w[0], w[1]]).toEqual([0, 2 ** 28]);
  });

  test("rejects cells outside the grid and grids above 64 bits", () => {
    const plan = mortonPlan([5, 3, 1]);
    expect(() => mortonChunkId(plan, [5, 0, 0])).toThrow(ShardSpecError);
    expect(() => mortonPlan([2 ** 22, 2 ** 22, 2 ** 22])).toThrow(/more than a uint64/);
  });
});

test("long single axes (more than 24 bits) use the general path", () => {
  const plan = mortonPlan([2 ** 40, 3, 1]);
  const g: [number, number, number] = [2 ** 39 + 5, 2, 0];
  // bits: x0 y0 x1 y1 x2 x3 ... x39 -> y=2 sets output bit 3, x bits 0 and 2 set bits 0 and 4.
  expect(mortonChunkId(plan, g)).toBe((1n << 41n) | (1n << 3n) | (1n << 4n) | 1n);
  expect(decodeMortonChunkId(plan, mortonChunkId(plan, g))).toEqual(g);
});
