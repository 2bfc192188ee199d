/**
 * Bad input gets a typed error naming the URL, key, box or field, before
 * anything is written (findings of an error-quality sweep).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MeshLayer, MeshNotFoundError } from "@ngpipe/mesh";
import {
  ArrayMismatchError,
  ArrayShapeError,
  closePool,
  createInfo,
  fromTyped,
  InfoNotFoundError,
  InfoValidationError,
  UnknownEncodingError,
  Volume,
  type VoxelArray,
  zeros,
} from "@ngpipe/precomputed";
import { createMeshManifestTasks, meshManifestTask } from "./mesh/stages";
import { InvalidTaskParamsError } from "./runtime";
import { executeTask } from "./runtime/define";
import { LayerMismatchError } from "./stages/common";
import { createQuantizeTasks } from "./stages/quantize";

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "ngpipe-errors-"));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await closePool();
});

test("mesh manifests of a layer that does not exist fail instead of writing none", async () => {
  const url = `file://${join(tmp, "no-such-layer")}`;
  await expect(MeshLayer.open(url)).rejects.toBeInstanceOf(MeshNotFoundError);
  await expect(createMeshManifestTasks(url, { meshDir: "mesh" })).rejects.toBeInstanceOf(
    InfoNotFoundError,
  );
  await expect(
    executeTask(meshManifestTask.payload({ layer: url, meshDir: "mesh", prefix: "" })),
  ).rejects.toThrow(/no info file at .*no-such-layer\/info/);
});

test("quantizing a layer that is not float is refused before the destination info is written", async () => {
  const src = `file://${join(tmp, "labels")}`;
  await Volume.fromArray(src, fromTyped(new Uint32Array(512), [8, 8, 8]), {
    type: "segmentation",
  });
  const dest = join(tmp, "q1");
  await expect(createQuantizeTasks(src, `file://${dest}`)).rejects.toBeInstanceOf(
    LayerMismatchError,
  );
  expect(existsSync(join(dest, "info"))).toBe(false);
});

test("an encoding with no codec is refused before the info is written, and names the layer when read", async () => {
  const url = join(tmp, "bogus");
  await expect(
    Volume.fromArray(`file://${url}`, fromTyped(new Uint8Array(512), [8, 8, 8]), {
      encoding: "bogus",
    }),
  ).rejects.toBeInstanceOf(UnknownEncodingError);
  expect(existsSync(join(url, "info"))).toBe(false);
  // A layer written by another tool in an encoding ngpipe cannot decode.
  const vol = await Volume.fromArray(
    `file://${join(tmp, "other")}`,
    fromTyped(new Uint8Array(512), [8, 8, 8]),
  );
  vol.info.scales[0].encoding = "zfpc";
  await vol.commitInfo();
  const again = await Volume.open(`file://${join(tmp, "other")}`);
  const err = await again.read(again.bounds).catch((e) => e);
  expect(err).toBeInstanceOf(UnknownEncodingError);
  expect((err as Error).message).toMatch(/other scale 1_1_1: unknown chunk encoding "zfpc"/);
});

test("mesh labels that are not decimal uint64s are refused as task params", async () => {
  const err = await executeTask({
    name: "mesh",
    params: { layer: "file:///x", bbox: "0-8_0-8_0-8", labels: ["abc"] },
  }).catch((e) => e);
  expect(err).toBeInstanceOf(InvalidTaskParamsError);
  expect((err as Error).message).toMatch(/labels\.0: a label is a decimal uint64/);
});

test("arrays of the wrong shape or kind are typed errors", async () => {
  expect(() => fromTyped(new Uint8Array(10), [32, 32, 16])).toThrow(ArrayShapeError);
  const vol = await Volume.fromArray(`mem://errors/${Date.now()}`, zeros("uint8", [8, 8, 8]));
  const err = await vol
    .write(vol.bounds, new Uint8Array(512) as unknown as VoxelArray)
    .catch((e) => e);
  expect(err).toBeInstanceOf(ArrayMismatchError);
  expect((err as Error).message).toMatch(
    /expected an ndarray over a typed array .* got Uint8Array/,
  );
});

test("createInfo without required options is an InfoValidationError naming them", () => {
  const err = (() => {
    try {
      createInfo({ type: "image", dataType: "uint8" } as unknown as Parameters<
        typeof createInfo
      >[0]);
    } catch (e) {
      return e as InfoValidationError;
    }
  })();
  expect(err).toBeInstanceOf(InfoValidationError);
  expect(err?.message).toMatch(/scales\[0\]\.resolution: is required/);
});
