import { Bbox } from "../geometry/bbox";
import { addScale, closestDivisor, createInfo, scaleKey } from "./edit";
import { InfoNotFoundError, InfoValidationError, ScaleNotFoundError } from "./errors";
import {
  downsampleRatio,
  formatInfo,
  type InfoJSON,
  parseInfo,
  scaleForMip,
  validateInfo,
} from "./info";
import { readInfo, writeInfo } from "./io";

// biome-ignore lint/suspicious/noExplicitAny: fixtures are mutated freely to break rules.
type Json = any;

/** An info shaped like one CloudVolume/Igneous writes for a sharded segmentation. */
function cloudVolumeSegmentationInfo(): Record<string, unknown> {
  return {
    "@type": "neuroglancer_multiscale_volume",
    data_type: "uint64",
    mesh: "mesh",
    skeletons: "skeletons",
    segment_properties: "segment_properties",
    num_channels: 1,
    type: "segmentation",
    mip_from_igneous: { note: "unknown member, must survive" },
    scales: [
      {
        chunk_sizes: [[128, 128, 32]],
        compressed_segmentation_block_size: [8, 8, 8],
        encoding: "compressed_segmentation",
        key: "8_8_40",
        resolution: [8, 8, 40],
        size: [10000, 8000, 700],
        voxel_offset: [100, 200, 5],
        sharding: {
          "@type": "neuroglancer_uint64_sharded_v1",
          data_encoding: "gzip",
          hash: "identity",
          minishard_bits: 6,
          minishard_index_encoding: "gzip",
          preshift_bits: 9,
          shard_bits: 8,
        },
        locked: false,
      },
      {
        chunk_sizes: [[64, 64, 64]],
        compressed_segmentation_block_size: [8, 8, 8],
        encoding: "compressed_segmentation",
        key: "16_16_40",
        resolution: [16, 16, 40],
        size: [5000, 4000, 700],
        voxel_offset: [50, 100, 5],
      },
    ],
  };
}

function imageInfo(): Record<string, unknown> {
  return {
    data_type: "uint8",
    num_channels: 1,
    type: "image",
    scales: [
      {
        chunk_sizes: [[64, 64, 64]],
        encoding: "jpeg",
        key: "4_4_40",
        resolution: [4, 4, 40],
        size: [1000, 1000, 100],
        voxel_offset: [0, 0, 0],
      },
    ],
  };
}

function problemsOf(mutate: (info: Json) => void) {
  const info = cloudVolumeSegmentationInfo() as Json;
  mutate(info);
  return validateInfo(info);
}

describe("parseInfo", () => {
  test("accepts a CloudVolume sharded segmentation info and keeps unknown members", () => {
    const text = JSON.stringify(cloudVolumeSegmentationInfo());
    const info = parseInfo(text);
    expect(info.scales[0].sharding?.preshift_bits).toBe(9);
    expect(info.mip_from_igneous).toEqual({ note: "unknown member, must survive" });
    expect(info.scales[0].locked).toBe(false);
    info.scales[1].encoding = "raw";
    const again = JSON.parse(formatInfo(info));
    expect(again.mip_from_igneous).toEqual({ note: "unknown member, must survive" });
    expect(again.scales[0].locked).toBe(false);
    expect(again.scales[1].encoding).toBe("raw");
  });

  test("accepts the spec's jpeg example and lower-cases case-insensitive values", () => {
    const raw = imageInfo() as Json;
    raw.data_type = "UINT8";
    raw.scales[0].encoding = "JPEG";
    const info = parseInfo(raw);
    expect(info.data_type).toBe("uint8");
    expect(info.scales[0].encoding).toBe("jpeg");
    expect(raw.data_type).toBe("UINT8");
  });

  test("accepts unknown encodings (flagged later, when chunks are decoded)", () => {
    const raw = imageInfo() as Json;
    raw.scales[0].encoding = "zfpc";
    raw.data_type = "float32";
    expect(parseInfo(raw).scales[0].encoding).toBe("zfpc");
  });

  test("bad JSON text is an InfoValidationError naming the source", () => {
    expect(() => parseInfo("{not json", "gs://b/l/info")).toThrow(InfoValidationError);
    expect(() => parseInfo("{not json", "gs://b/l/info")).toThrow(/gs:\/\/b\/l\/info/);
  });

  test("the error carries the first path and rule and counts the others", () => {
    const raw = cloudVolumeSegmentationInfo() as Json;
    raw.type = "volume";
    raw.scales[1].size = [1, 2];
    try {
      parseInfo(raw);
      throw new Error("expected a throw");
    } catch (e) {
      expect(e).toBeInstanceOf(InfoValidationError);
      const err = e as InfoValidationError;
      expect(err.path).toBe("type");
      expect(err.problems.map((p) => p.path)).toEqual(["type", "scales[1].size"]);
      expect(err.message).toMatch(/and 1 more problem/);
    }
  });
});

/** Sets every scale's encoding (dropping compressed_segmentation's block size). */
function encodeAll(info: Json, encoding: string): void {
  for (const scale of info.scales) {
    scale.encoding = encoding;
    delete scale.compressed_segmentation_block_size;
  }
}

describe("validateInfo rule paths", () => {
  const cases: [string, (i: Json) => void, string, RegExp][] = [
    ["@type", (i) => (i["@type"] = "other"), '["@type"]', /neuroglancer_multiscale_volume/],
    ["type", (i) => (i.type = "mesh"), "type", /"image" or "segmentation"/],
    ["data_type", (i) => (i.data_type = "complex64"), "data_type", /must be one of/],
    ["num_channels", (i) => (i.num_channels = 0), "num_channels", /positive integer/],
    ["segmentation channels", (i) => (i.num_channels = 3), "num_channels", /must be 1/],
    ["mesh", (i) => (i.mesh = 7), "mesh", /string/],
    ["scales empty", (i) => (i.scales = []), "scales", /non-empty array/],
    ["scale not object", (i) => (i.scales[1] = 5), "scales[1]", /object/],
    ["key", (i) => (i.scales[1].key = ""), "scales[1].key", /non-empty string/],
    ["size", (i) => (i.scales[0].size = [1, 0, 1]), "scales[0].size", /positive integers/],
    [
      "resolution",
      (i) => (i.scales[1].resolution = [16, -1, 40]),
      "scales[1].resolution",
      /positive numbers/,
    ],
    [
      "voxel_offset",
      (i) => (i.scales[1].voxel_offset = [0.5, 0, 0]),
      "scales[1].voxel_offset",
      /integers/,
    ],
    [
      "chunk_sizes",
      (i) => (i.scales[1].chunk_sizes = []),
      "scales[1].chunk_sizes",
      /non-empty array/,
    ],
    [
      "chunk size",
      (i) => (i.scales[1].chunk_sizes = [[64, 64, 0]]),
      "scales[1].chunk_sizes[0]",
      /positive integers/,
    ],
    ["encoding", (i) => (i.scales[1].encoding = 3), "scales[1].encoding", /non-empty string/],
    [
      "cseg block size required",
      (i) => delete i.scales[1].compressed_segmentation_block_size,
      "scales[1].compressed_segmentation_block_size",
      /required/,
    ],
    [
      "cseg block size shape",
      (i) => (i.scales[1].compressed_segmentation_block_size = [8, 8]),
      "scales[1].compressed_segmentation_block_size",
      /positive integers/,
    ],
    ["cseg dtype", (i) => (i.data_type = "uint8"), "scales[0].encoding", /uint32 or uint64/],
    [
      "jpeg dtype",
      (i) => (i.scales[1].encoding = "jpeg"),
      "scales[1].encoding",
      /needs data_type uint8/,
    ],
    [
      "compresso dtype",
      (i) => encodeAll(Object.assign(i, { data_type: "float32" }), "compresso"),
      "scales[0].encoding",
      /"compresso" needs data_type uint8, uint16, uint32, uint64/,
    ],
    [
      "compresso signed",
      (i) => encodeAll(Object.assign(i, { data_type: "int32" }), "compresso"),
      "scales[0].encoding",
      /"compresso" needs data_type/,
    ],
    [
      "crackle dtype",
      (i) => encodeAll(Object.assign(i, { data_type: "float64" }), "crackle"),
      "scales[0].encoding",
      /"crackle" needs data_type .*int64/,
    ],
    [
      "crackle channels",
      (i) => encodeAll(Object.assign(i, { type: "image", num_channels: 2 }), "crackle"),
      "scales[0].encoding",
      /"crackle" needs num_channels 1/,
    ],
    [
      "sharding @type",
      (i) => (i.scales[0].sharding["@type"] = "x"),
      'scales[0].sharding["@type"]',
      /neuroglancer_uint64_sharded_v1/,
    ],
    [
      "sharding bits",
      (i) => (i.scales[0].sharding.shard_bits = 65),
      "scales[0].sharding.shard_bits",
      /\[0, 64\]/,
    ],
    [
      "sharding bit sum",
      (i) => Object.assign(i.scales[0].sharding, { shard_bits: 40, minishard_bits: 30 }),
      "scales[0].sharding.shard_bits",
      /<= 64/,
    ],
    [
      "sharding hash",
      (i) => (i.scales[0].sharding.hash = "md5"),
      "scales[0].sharding.hash",
      /murmurhash3_x86_128/,
    ],
    [
      "sharding encoding",
      (i) => (i.scales[0].sharding.data_encoding = "zstd"),
      "scales[0].sharding.data_encoding",
      /"raw" or "gzip"/,
    ],
    [
      "sharded scale with two chunk sizes",
      (i) => i.scales[0].chunk_sizes.push([64, 64, 64]),
      "scales[0].chunk_sizes",
      /exactly one/,
    ],
    [
      "resolution decreasing",
      (i) => (i.scales[1].resolution = [4, 16, 40]),
      "scales[1].resolution",
      /must not be finer/,
    ],
    ["duplicate key", (i) => (i.scales[1].key = "8_8_40"), "scales[1].key", /duplicates/],
  ];

  test("a non-object root", () => {
    expect(validateInfo([1, 2])).toEqual([{ path: "", rule: "info must be a JSON object" }]);
  });

  test.each(cases)("%s", (_name, mutate, path, rule) => {
    const problems = problemsOf(mutate);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0].path).toBe(path);
    expect(problems[0].rule).toMatch(rule);
  });

  test("a valid info has no problems", () => {
    expect(validateInfo(cloudVolumeSegmentationInfo())).toEqual([]);
    expect(validateInfo(imageInfo())).toEqual([]);
  });
});

describe("scales", () => {
  test("scaleForMip resolves defaults and derived values", () => {
    const info = parseInfo(cloudVolumeSegmentationInfo());
    const s = scaleForMip(info, 0);
    expect(s.chunkSize).toEqual([128, 128, 32]);
    expect(s.bounds.equals(new Bbox([100, 200, 5], [10100, 8200, 705]))).toBe(true);
    expect(s.gridSize).toEqual([79, 63, 22]);
    expect(scaleForMip(info, [16, 16, 40]).mip).toBe(1);
    const raw = imageInfo() as Json;
    delete raw.scales[0].voxel_offset;
    expect(scaleForMip(parseInfo(raw), 0).voxelOffset).toEqual([0, 0, 0]);
  });

  test("a missing mip or resolution lists what is available", () => {
    const info = parseInfo(cloudVolumeSegmentationInfo());
    expect(() => scaleForMip(info, 2)).toThrow(ScaleNotFoundError);
    expect(() => scaleForMip(info, 2)).toThrow(/0: \[8, 8, 40\], 1: \[16, 16, 40\]/);
    expect(() => scaleForMip(info, [32, 32, 40])).toThrow(/resolution \[32, 32, 40\]/);
  });

  test("downsampleRatio is relative to mip 0", () => {
    expect(downsampleRatio(parseInfo(cloudVolumeSegmentationInfo()), 1)).toEqual([2, 2, 1]);
  });
});

describe("createInfo and addScale", () => {
  test("createInfo writes what CloudVolume's create_new_info writes", () => {
    const info = createInfo({
      type: "segmentation",
      dataType: "uint32",
      resolution: [4, 4, 40],
      voxelOffset: [3, 5, 7],
      size: [1025, 1024, 100],
      chunkSize: [64, 64, 64],
      encoding: "compressed_segmentation",
      mesh: true,
      maxMip: 2,
    });
    expect(info).toEqual({
      num_channels: 1,
      type: "segmentation",
      data_type: "uint32",
      mesh: "mesh",
      scales: [
        {
          encoding: "compressed_segmentation",
          chunk_sizes: [[64, 64, 64]],
          key: "4_4_40",
          resolution: [4, 4, 40],
          voxel_offset: [3, 5, 7],
          size: [1025, 1024, 100],
          compressed_segmentation_block_size: [8, 8, 8],
        },
        {
          encoding: "compressed_segmentation",
          chunk_sizes: [[64, 64, 64]],
          key: "8_8_40",
          resolution: [8, 8, 40],
          voxel_offset: [1, 2, 7],
          size: [513, 512, 100],
          compressed_segmentation_block_size: [8, 8, 8],
        },
        {
          encoding: "compressed_segmentation",
          chunk_sizes: [[64, 64, 64]],
          key: "16_16_40",
          resolution: [16, 16, 40],
          voxel_offset: [0, 1, 7],
          size: [257, 256, 100],
          compressed_segmentation_block_size: [8, 8, 8],
        },
      ],
    });
  });

  test("createInfo validates its result", () => {
    expect(() =>
      createInfo({
        type: "image",
        dataType: "uint16",
        resolution: [1, 1, 1],
        size: [8, 8, 8],
        encoding: "jpeg",
      }),
    ).toThrow(InfoValidationError);
  });

  test("addScale follows CloudVolume: key, floor offset, ceil size, closest-divisor chunks", () => {
    const info = parseInfo(cloudVolumeSegmentationInfo());
    const s = addScale(info, [4, 4, 2]);
    expect(s).toMatchObject({
      key: "32_32_80",
      resolution: [32, 32, 80],
      voxel_offset: [25, 50, 2],
      size: [2500, 2000, 350],
      chunk_sizes: [[64, 64, 32]],
      encoding: "compressed_segmentation",
      compressed_segmentation_block_size: [8, 8, 8],
    });
    expect(info.scales.map((x) => x.key)).toEqual(["8_8_40", "16_16_40", "32_32_80"]);
    expect(validateInfo(info)).toEqual([]);
  });

  test("addScale returns an existing scale instead of duplicating it", () => {
    const info = parseInfo(cloudVolumeSegmentationInfo());
    const before = info.scales[1];
    expect(addScale(info, [2, 2, 1], { chunkSize: [32, 32, 32] })).toBe(before);
    expect(info.scales).toHaveLength(2);
  });

  test("addScale keeps resolutions increasing when a finer scale is added late", () => {
    const info = parseInfo(cloudVolumeSegmentationInfo());
    addScale(info, [8, 8, 4]);
    const s = addScale(info, [4, 4, 2], { encoding: "raw" });
    expect(info.scales.map((x) => x.key)).toEqual(["8_8_40", "16_16_40", "32_32_80", "64_64_160"]);
    expect(validateInfo(info)).toEqual([]);
    expect(s.encoding).toBe("raw");
    expect(s.compressed_segmentation_block_size).toBeUndefined();
  });

  test("scaleKey and closestDivisor", () => {
    expect(scaleKey([4.5, 4, 40])).toBe("4.5_4_40");
    expect(closestDivisor([128, 96, 32])).toEqual([64, 48, 32]);
  });
});

describe("readInfo / writeInfo", () => {
  class MemStore {
    url = "mem://test/layer";
    objects = new Map<string, { data: Uint8Array; opts: unknown }>();
    async get(key: string) {
      const o = this.objects.get(key);
      return o ? { data: o.data, info: { size: o.data.length } } : null;
    }
    async put(key: string, data: Uint8Array, opts?: unknown) {
      this.objects.set(key, { data, opts });
      return {};
    }
  }

  test("writeInfo stores sorted, uncompressed JSON with no-cache, and readInfo reads it back", async () => {
    const store = new MemStore();
    const info = parseInfo(cloudVolumeSegmentationInfo());
    await writeInfo(store, info);
    const put = store.objects.get("info")!;
    expect(put.opts).toMatchObject({
      contentType: "application/json",
      cacheControl: "no-cache",
      compress: false,
    });
    const text = new TextDecoder().decode(put.data);
    expect(text.indexOf('"data_type"')).toBeLessThan(text.indexOf('"mesh"'));
    expect(await readInfo(store)).toEqual(info);
  });

  test("readInfo of a missing info names the URL", async () => {
    await expect(readInfo(new MemStore())).rejects.toThrow(InfoNotFoundError);
    await expect(readInfo(new MemStore())).rejects.toThrow("mem://test/layer/info");
  });

  test("writeInfo refuses an invalid info", async () => {
    const info = parseInfo(cloudVolumeSegmentationInfo()) as InfoJSON;
    info.scales[0].size = [0, 1, 1];
    await expect(writeInfo(new MemStore(), info)).rejects.toThrow(/scales\[0\]\.size/);
  });
});
