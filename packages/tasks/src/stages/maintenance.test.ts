import { closePool, MissingChunkError, NdArray, Volume } from "@ngpipe/precomputed";
import { executeTask } from "../runtime";
import { createBlackoutTasks } from "./blackout";
import { createDeleteTasks, deleteTask } from "./delete";
import { createDownsampleTasks } from "./downsample";
import { runAll, snapshotStorage } from "./testing";
import { createTouchTasks, touchTask } from "./touch";

afterAll(() => closePool());

/** A 64x64x16 uint16 layer of 16^3 chunks with mips 1 and 2 (2x2x1). */
async function layer(url: string): Promise<Uint16Array> {
  const data = new Uint16Array(64 * 64 * 16);
  for (let i = 0; i < data.length; i++) data[i] = 1 + (i % 1000);
  await Volume.fromArray(url, NdArray.from(data, [64, 64, 16]), { chunkSize: [16, 16, 16] });
  await runAll(await createDownsampleTasks(url, { mips: 2 }));
  return data;
}

async function present(url: string, mip: number): Promise<string[]> {
  const vol = (await Volume.open(url)).withMip(mip);
  const found = await vol.exists(vol.bounds);
  return [...found].filter(([, v]) => v).map(([k]) => k);
}

describe("delete", () => {
  test("deletes the chunks inside a box at the mip and the scales above it", async () => {
    const url = "mem://stage-delete/img";
    await layer(url);
    await runAll(await createDeleteTasks(url, { bounds: "0-32_0-32_0-16", mips: 1 }));
    const m0 = await present(url, 0);
    expect(m0).toHaveLength(16 - 4);
    expect(m0).not.toContain("0-16_0-16_0-16");
    expect(m0).toContain("32-48_0-16_0-16");
    const m1 = await present(url, 1);
    expect(m1).toEqual(["16-32_0-16_0-16", "0-16_16-32_0-16", "16-32_16-32_0-16"]);
    // mip 2 was not asked for.
    expect(await present(url, 2)).toEqual(["0-16_0-16_0-16"]);
  });

  test("chunks only partly inside the box are kept; deleting twice is harmless", async () => {
    const url = "mem://stage-delete-partial/img";
    await layer(url);
    const payload = deleteTask.payload({ layer: url, mip: 0, bbox: "0-24_0-16_0-16", mips: 0 });
    expect(await executeTask(payload)).toEqual({ deleted: 1, temporaries: 0 });
    expect(await executeTask(payload)).toEqual({ deleted: 1, temporaries: 0 });
    const m0 = await present(url, 0);
    expect(m0).toContain("16-32_0-16_0-16");
    expect(m0).not.toContain("0-16_0-16_0-16");
  });
});

describe("touch", () => {
  test("reads every chunk; a missing one fails naming its key", async () => {
    const url = "mem://stage-touch/img";
    await layer(url);
    const tasks = await createTouchTasks(url, { shape: [32, 32, 16] });
    expect(tasks.count).toBe(4);
    expect(await runAll(tasks)).toEqual(Array(4).fill({ voxels: 32 * 32 * 16 }));
    await executeTask(
      deleteTask.payload({ layer: url, mip: 0, bbox: "48-64_48-64_0-16", mips: 0 }),
    );
    const err = (await executeTask(
      touchTask.payload({ layer: url, mip: 0, bbox: "32-64_32-64_0-16" }),
    ).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(MissingChunkError);
    expect(err.message).toContain("48-64_48-64_0-16");
  });
});

describe("blackout", () => {
  test("fills a box grown to the chunk grid with a value", async () => {
    const url = "mem://stage-blackout/img";
    const data = await layer(url);
    await runAll(await createBlackoutTasks(url, "5-20_0-16_0-16", { value: 7 }));
    const got = (await (await Volume.open(url)).read("0-64_0-64_0-16")).data as Uint16Array;
    for (let z = 0; z < 16; z += 5)
      for (let y = 0; y < 64; y += 3)
        for (let x = 0; x < 64; x++) {
          const i = x + 64 * (y + 64 * z);
          expect(got[i]).toBe(x < 32 && y < 16 ? 7 : data[i]);
        }
  });

  test("nonAligned fills exactly the box and keeps the rest of partial chunks", async () => {
    const url = "mem://stage-blackout-exact/img";
    const data = await layer(url);
    const tasks = await createBlackoutTasks(url, "5-20_3-9_2-4", { value: 9, nonAligned: true });
    await runAll(tasks);
    const before = await snapshotStorage(url);
    await runAll(tasks);
    expect(await snapshotStorage(url)).toEqual(before);
    const got = (await (await Volume.open(url)).read("0-64_0-64_0-16")).data as Uint16Array;
    let changed = 0;
    for (let z = 0; z < 16; z++)
      for (let y = 0; y < 64; y++)
        for (let x = 0; x < 64; x++) {
          const i = x + 64 * (y + 64 * z);
          const inside = x >= 5 && x < 20 && y >= 3 && y < 9 && z >= 2 && z < 4;
          if (inside) changed++;
          expect(got[i]).toBe(inside ? 9 : data[i]);
        }
    expect(changed).toBe(15 * 6 * 2);
  });
});
