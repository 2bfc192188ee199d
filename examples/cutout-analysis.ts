/**
 * Cutout analysis: read a box of a segmentation and of the image it segments,
 * then measure every segment inside the box — voxel count, centroid (voxels
 * and nm) and mean image intensity — and print the largest ones.
 *
 * Cutouts are scijs ndarrays ([x, y, z, c], Fortran strides), so the scijs
 * libraries work on them directly: the image's range and mean come from
 * `ndarray-ops`; the per-segment pass walks the typed array itself.
 *
 * Run it on a synthetic dataset it writes to a temporary directory:
 *
 *   npx tsx examples/cutout-analysis.ts
 *
 * or on your own layers (any URL ngpipe reads: file://, gs://, s3://, https://),
 * optionally with a box `x0-x1_y0-y1_z0-z1` in mip-0 voxels (default: the
 * central half of the dataset along each axis):
 *
 *   npx tsx examples/cutout-analysis.ts file:///data/seg file:///data/img 0-256_0-256_0-64
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  asFortran,
  Bbox,
  closePool,
  fromTyped,
  type Vec3,
  Volume,
  type VoxelArray,
} from "@ngpipe/precomputed";
import { emLikeImage, voronoiSegmentation } from "@ngpipe/tasks";
import ops from "ndarray-ops";

/** Image voxels as ndarray-ops' types take them (any number typed array). */
type ImageArray = VoxelArray<Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array>;

/** Measurements of one segment inside the analysed box. */
export interface SegmentStats {
  /** Segment id. */
  id: number;
  /** Voxels of the segment inside the box. */
  voxels: number;
  /** Mean voxel position, in dataset voxel coordinates. */
  centroid: Vec3;
  /** Mean image intensity over the segment's voxels (NaN without an image). */
  meanIntensity: number;
}

/**
 * Per-segment voxel counts, centroids and mean intensities of a cutout.
 * `labels` is a one-channel uint32 or uint64 segmentation (0 is background and
 * skipped), `image` an optional one-channel image of the same shape, and
 * `origin` the dataset coordinate of the cutout's (0, 0, 0) voxel.
 *
 * Any ndarray views are accepted: `asFortran` makes them contiguous (no copy
 * for what `Volume.read` returns). One pass over the voxels with running sums
 * per id; uint64 labels are read as (low, high) uint32 pairs, so no BigInt is
 * made per voxel.
 */
export function segmentStats(
  labelArray: VoxelArray,
  imageArray: VoxelArray | undefined,
  origin: Vec3,
) {
  const labels = asFortran(labelArray);
  const image = imageArray && asFortran(imageArray);
  const [sx, sy, sz] = labels.shape;
  if (image?.shape.slice(0, 3).some((n, i) => n !== labels.shape[i])) {
    throw new RangeError(
      `image shape [${image.shape}] does not match segmentation shape [${labels.shape}]`,
    );
  }
  const wide = labels.data instanceof BigUint64Array;
  if (!wide && !(labels.data instanceof Uint32Array)) {
    throw new TypeError(`segmentStats needs uint32 or uint64 labels, got ${labels.dtype}`);
  }
  const words = wide
    ? new Uint32Array(labels.data.buffer, labels.data.byteOffset, labels.data.length * 2)
    : (labels.data as Uint32Array);
  const pixels = image?.data as ArrayLike<number> | undefined;
  const sums = new Map<number, Float64Array>(); // [count, Σx, Σy, Σz, Σintensity]
  let i = 0;
  for (let z = 0; z < sz; z++) {
    for (let y = 0; y < sy; y++) {
      for (let x = 0; x < sx; x++, i++) {
        const id = wide ? words[2 * i] + words[2 * i + 1] * 2 ** 32 : words[i];
        if (id === 0) continue;
        let s = sums.get(id);
        if (!s) sums.set(id, (s = new Float64Array(5)));
        s[0]++;
        s[1] += x;
        s[2] += y;
        s[3] += z;
        if (pixels) s[4] += pixels[i];
      }
    }
  }
  const out: SegmentStats[] = [];
  for (const [id, [n, x, y, z, v]] of sums) {
    out.push({
      id,
      voxels: n,
      centroid: [origin[0] + x / n, origin[1] + y / n, origin[2] + z / n],
      meanIntensity: pixels ? v / n : Number.NaN,
    });
  }
  return out.sort((a, b) => b.voxels - a.voxels || a.id - b.id);
}

/**
 * Write a small synthetic dataset — a Voronoi "neuron" segmentation
 * (compressed_segmentation) and an EM-like image (raw) at 8x8x40 nm — to
 * file:// layers under `dir`, and return their URLs.
 */
export async function makeSyntheticLayers(
  dir: string,
  size: [number, number, number] = [128, 128, 64],
): Promise<{ segmentation: string; image: string }> {
  const labels = voronoiSegmentation(size, { seeds: 40, seed: 3, scale: [1, 1, 5] });
  const pixels = emLikeImage(labels, size, 5);
  const segmentation = pathToFileURL(join(dir, "segmentation")).href;
  const image = pathToFileURL(join(dir, "image")).href;
  const common = { resolution: [8, 8, 40] as Vec3, chunkSize: [64, 64, 32] as Vec3 };
  await Volume.fromArray(segmentation, fromTyped(labels, size), {
    ...common,
    type: "segmentation",
    encoding: "compressed_segmentation",
  });
  await Volume.fromArray(image, fromTyped(pixels, size), { ...common, type: "image" });
  return { segmentation, image };
}

/** Options of {@link main}. */
export interface CutoutAnalysisOptions {
  /** Segmentation layer URL. Default: a synthetic dataset in a temporary directory. */
  segmentation?: string;
  /** Image layer URL (optional). */
  image?: string;
  /** Box in mip-0 voxels, e.g. "0-256_0-256_0-64". Default: the central half. */
  bbox?: string;
  /** Rows to print. Default 10. */
  top?: number;
  /** Where to print. Default stdout. */
  out?: NodeJS.WritableStream;
}

/** Read the cutouts, measure the segments, print a table, return all stats. */
export async function main(options: CutoutAnalysisOptions = {}) {
  const out = options.out ?? process.stdout;
  let { segmentation, image } = options;
  if (!segmentation) {
    const dir = await mkdtemp(join(tmpdir(), "ngpipe-cutout-"));
    ({ segmentation, image } = await makeSyntheticLayers(dir));
    out.write(`made a synthetic dataset in ${dir}\n`);
  }
  // fillMissing: chunks never written (e.g. empty space) read as 0.
  const seg = await Volume.open(segmentation, { fillMissing: true });
  const img = image ? await Volume.open(image, { fillMissing: true }) : undefined;
  if (img && img.numChannels !== 1) throw new Error(`${image} has ${img.numChannels} channels`);

  // Any box works, aligned to the chunk grid or not: Volume.read fetches the
  // chunks it touches (in parallel) and crops them.
  const b = seg.bounds;
  const quarter = b.size().map((n) => Math.floor(n / 4));
  const bbox = options.bbox
    ? Bbox.parseChunkName(options.bbox)
    : new Bbox(
        [b.min[0] + quarter[0], b.min[1] + quarter[1], b.min[2] + quarter[2]],
        [b.max[0] - quarter[0], b.max[1] - quarter[1], b.max[2] - quarter[2]],
      );
  if (img && (img.dataType === "uint64" || img.dataType === "int64"))
    throw new Error(`${image} holds ${img.dataType}: this example measures number images`);
  const [labels, pixels] = await Promise.all([seg.read(bbox), img?.read<ImageArray["data"]>(bbox)]);
  const stats = segmentStats(labels, pixels, bbox.min);
  // Whole-cutout statistics with ndarray-ops, on the cutout as read.
  const range = pixels && {
    min: ops.inf(pixels),
    max: ops.sup(pixels),
    mean: ops.sum(pixels) / pixels.size,
  };

  const res = seg.resolution;
  out.write(`${stats.length} segments in ${bbox} of ${segmentation}\n`);
  if (range)
    out.write(`image: min ${range.min}, max ${range.max}, mean ${range.mean.toFixed(1)}\n`);
  out.write("\n");
  out.write("   segment    voxels   centroid (nm)                 mean intensity\n");
  for (const s of stats.slice(0, options.top ?? 10)) {
    const nm = s.centroid.map((c, i) => Math.round(c * res[i])).join(", ");
    out.write(
      `${String(s.id).padStart(10)} ${String(s.voxels).padStart(9)}   ${`(${nm})`.padEnd(30)} ${Number.isNaN(s.meanIntensity) ? "-" : s.meanIntensity.toFixed(1)}\n`,
    );
  }
  return { bbox, stats, range };
}

if (require.main === module) {
  const [segmentation, image, bbox] = process.argv.slice(2);
  main({ segmentation, image, bbox })
    .catch((err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    })
    .finally(closePool);
}
