import { Bbox, createInfo } from "@ngpipe/precomputed";
import { resolveBounds, TilingError, taskSet, tileBox, tileCount } from "./tiling";

test("tiles cover the box x fastest, clipped at the far edges", () => {
  const tiles = [...tileBox(new Bbox([0, 0, 0], [100, 60, 10]), [64, 32, 10])].map(String);
  expect(tiles).toEqual([
    "0-64_0-32_0-10",
    "64-100_0-32_0-10",
    "0-64_32-60_0-10",
    "64-100_32-60_0-10",
  ]);
  expect(tileCount(new Bbox([0, 0, 0], [100, 60, 10]), [64, 32, 10])).toBe(4);
});

test("the grid is anchored at the origin, so an unaligned box starts with a partial tile", () => {
  const box = new Bbox([10, 0, 0], [70, 32, 8]);
  const tiles = [...tileBox(box, [32, 32, 8], { origin: [0, 0, 0] })].map(String);
  expect(tiles).toEqual(["10-32_0-32_0-8", "32-64_0-32_0-8", "64-70_0-32_0-8"]);
  expect(tileCount(box, [32, 32, 8], { origin: [0, 0, 0] })).toBe(3);
});

test("tiles are clipped to the dataset; tiles outside it are not made or counted", () => {
  const bounds = new Bbox([0, 0, 0], [128, 64, 8]);
  const options = { clip: new Bbox([0, 0, 0], [50, 40, 8]) };
  const tiles = [...tileBox(bounds, [32, 32, 8], options)].map(String);
  expect(tiles).toEqual(["0-32_0-32_0-8", "32-50_0-32_0-8", "0-32_32-40_0-8", "32-50_32-40_0-8"]);
  expect(tileCount(bounds, [32, 32, 8], options)).toBe(4);
});

test("a bad shape is refused", () => {
  expect(() => [...tileBox(new Bbox([0, 0, 0], [1, 1, 1]), [0, 1, 1])]).toThrow(TilingError);
});

test("a task set of millions of tiles is counted without making them", () => {
  let made = 0;
  const huge = new Bbox([0, 0, 0], [1_000_000, 1_000_000, 20_000]);
  const set = taskSet(huge, [1024, 1024, 64], {}, (tile) => {
    made++;
    return { name: "t", params: tile.toChunkName() };
  });
  expect(set.count).toBe(977 * 977 * 313);
  const it = set[Symbol.iterator]();
  expect(it.next().value?.params).toBe("0-1024_0-1024_0-64");
  expect(it.next().value?.params).toBe("1024-2048_0-1024_0-64");
  expect(made).toBe(2);
});

test("a task set counts its payloads and yields them afresh on every iteration", () => {
  let made = 0;
  const set = taskSet(new Bbox([0, 0, 0], [256, 128, 64]), [64, 64, 64], {}, (tile) => {
    made++;
    return { name: "t", params: tile.toChunkName() };
  });
  expect(set.count).toBe(8);
  expect(made).toBe(0);
  const first = [...set].map((p) => p.params);
  expect(first[1]).toBe("64-128_0-64_0-64");
  expect([...set].map((p) => p.params)).toEqual(first);
});

test("resolveBounds converts from mip 0, grows to the grid and clips to the dataset", () => {
  const info = createInfo({
    type: "image",
    dataType: "uint8",
    resolution: [4, 4, 40],
    voxelOffset: [10, 0, 0],
    size: [1000, 1000, 100],
    chunkSize: [64, 64, 16],
    maxMip: 1,
  });
  expect(resolveBounds(info, 0).toString()).toBe("10-1010_0-1000_0-100");
  // mip 1 has offset 5 and size 500: [100, 300) at mip 0 is [50, 150) there.
  expect(resolveBounds(info, 1, new Bbox([100, 0, 0], [300, 64, 16])).toString()).toBe(
    "5-197_0-64_0-16",
  );
  expect(
    resolveBounds(info, 0, new Bbox([0, 0, 0], [2000, 10, 10]), 0, [128, 128, 32]).toString(),
  ).toBe("10-1010_0-128_0-32");
});
