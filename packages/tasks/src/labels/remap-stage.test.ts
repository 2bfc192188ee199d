import { closePool, NdArray, Volume } from "@ngpipe/precomputed";
import { RemapMissingIdError, RemapRangeError } from "@ngpipe/segmentation";
import { openStorage } from "@ngpipe/storage";
import { encodeNpy } from "../ingest/sources/npy";
import { voronoiSegmentation } from "../synthetic";
import { RemapMapFileError } from "./map-file";
import { createRemapTasks } from "./remap-stage";
import { runPhases } from "./testing";

afterAll(() => closePool());

const SIZE = [24, 20, 10] as const;
let serial = 0;

async function setup(): Promise<{ src: string; dir: string; labels: Uint32Array }> {
  const dir = `mem://remap-${++serial}`;
  const labels = voronoiSegmentation(SIZE, { seeds: 12 });
  await Volume.fromArray(`${dir}/seg`, NdArray.from(labels, SIZE), { chunkSize: [8, 8, 5] });
  return { src: `${dir}/seg`, dir, labels };
}

async function readAll(url: string) {
  const vol = await Volume.open(url);
  return (await vol.read(vol.bounds)).data;
}

/** A map: id -> 100 + 2 * id (0 stays 0). */
const value = (id: number) => (id === 0 ? 0 : 100 + 2 * id);

describe("createRemapTasks", () => {
  test("a dense .npy map, a JSON object and uint64 pairs give the same layer, with downsamples", async () => {
    const { src, dir, labels } = await setup();
    const store = openStorage(dir);
    const dense = Uint32Array.from({ length: 13 }, (_, i) => value(i));
    await store.put("map.npy", encodeNpy(dense, [13]));
    await store.put(
      "map.json",
      JSON.stringify(Object.fromEntries(Array.from(dense, (v, i) => [String(i), v]))),
    );
    const pairs = new BigUint64Array(26);
    dense.forEach((v, i) => {
      pairs[2 * i] = BigInt(i);
      pairs[2 * i + 1] = BigInt(v);
    });
    await store.put("map.bin", new Uint8Array(pairs.buffer));
    const want = Uint32Array.from(labels, value);
    for (const name of ["map.npy", "map.json", "map.bin"]) {
      const dest = `${dir}/out-${name}`;
      await runPhases(
        await createRemapTasks(src, dest, { map: `${dir}/${name}`, shape: [16, 16, 5], mips: 1 }),
      );
      expect(Array.from((await readAll(dest)) as Uint32Array)).toEqual(Array.from(want));
      expect((await Volume.open(dest)).mipCount).toBe(2);
    }
  });

  test("an id missing from the map is a RemapMissingIdError naming the id, the layer and the box", async () => {
    const { src, dir } = await setup();
    await openStorage(dir).put("short.json", JSON.stringify({ 0: 0, 1: 5 }));
    const phases = await createRemapTasks(src, `${dir}/out`, { map: `${dir}/short.json` });
    const run = runPhases(phases);
    await expect(run).rejects.toThrow(RemapMissingIdError);
    await expect(runPhases(phases)).rejects.toThrow(new RegExp(`id \\d+ in ${src} \\d+-\\d+_`));
  });

  test("a value the dest type cannot hold is a RemapRangeError", async () => {
    const { src, dir } = await setup();
    await openStorage(dir).put(
      "big.npy",
      encodeNpy(
        Uint32Array.from({ length: 13 }, (_, i) => 250 + i),
        [13],
      ),
    );
    const phases = await createRemapTasks(src, `${dir}/out8`, {
      map: `${dir}/big.npy`,
      dataType: "uint8",
    });
    await expect(runPhases(phases)).rejects.toThrow(RemapRangeError);
  });

  test("a map file in none of the formats is refused before anything is written", async () => {
    const { src, dir } = await setup();
    await openStorage(dir).put("map.txt", "1 -> 2\n");
    await expect(createRemapTasks(src, `${dir}/out`, { map: `${dir}/map.txt` })).rejects.toThrow(
      RemapMapFileError,
    );
    expect(await openStorage(dir).exists("out/info")).toBe(false);
  });
});
