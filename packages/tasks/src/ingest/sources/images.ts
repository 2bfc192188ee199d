/**
 * Stacks of 2-D images as ingest sources: a directory (or glob, or list) of
 * TIFF / PNG / JPEG slices, one per z in natural sort order ("slice2" before
 * "slice10"), or one multi-page TIFF with a page per z. Slices are decoded
 * when a block first needs them and kept in a small LRU cache, since a
 * pipeline reads the same z range for every tile of a layer.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import * as path from "node:path";
import {
  allocTyped,
  type DataType,
  fromTyped,
  type Shape4,
  type VoxelArray,
} from "@ngpipe/precomputed";
import type { IFD } from "utif";
import { ShapeMismatchError, SourceError } from "./errors";
import { decodeJpeg, decodePng, decodeTiffPage, type Slice, tiffPages } from "./image-decode";
import { blockSize, copyStrided } from "./layout";
import type { BlockBox, ReadBlockOptions, VolumeSource } from "./types";

/** Options of {@link openImageStack}. */
export interface ImageStackOptions {
  /** Bytes of decoded slices kept in memory. Default 256 MiB (always at least one slice). */
  cacheBytes?: number;
}

const IMAGE_EXT = /\.(tiff?|png|jpe?g)$/i;
const TIFF_EXT = /\.tiff?$/i;

const collator = new Intl.Collator("en", { numeric: true });
/** Natural order of file names: digit runs compare as numbers ("z2" < "z10"). */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** A regular expression for a glob over one path component (`*`, `?`, `[...]`). */
function globRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = glob.indexOf("]", i);
      if (end < 0) re += "\\[";
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The slice files a spec names: a directory, a glob in the last path component, or a list. */
export async function listSlices(spec: string | string[]): Promise<string[]> {
  if (Array.isArray(spec)) return spec.map((f) => path.resolve(f));
  const p = path.resolve(spec.replace(/^file:\/\//, ""));
  const base = path.basename(p);
  if (/[*?[]/.test(base)) {
    const dir = path.dirname(p);
    const re = globRegExp(base);
    const names = await readdir(dir).catch((e) => {
      throw new SourceError(`${spec}: can't list ${dir} (${(e as Error).message})`, spec, {
        cause: e,
      });
    });
    return names
      .filter((n) => re.test(n))
      .sort(naturalCompare)
      .map((n) => path.join(dir, n));
  }
  const entries = await readdir(p, { withFileTypes: true }).catch((e) => {
    throw new SourceError(`${spec}: can't list directory (${(e as Error).message})`, spec, {
      cause: e,
    });
  });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith(".") && IMAGE_EXT.test(e.name))
    .map((e) => e.name)
    .sort(naturalCompare)
    .map((n) => path.join(p, n));
}

/** Decode one single-image file by its extension. */
async function decodeFile(file: string): Promise<Slice> {
  const bytes = new Uint8Array(await readFile(file));
  if (TIFF_EXT.test(file)) return decodeTiffPage(bytes, tiffPages(bytes, file)[0], file);
  if (/\.png$/i.test(file)) return decodePng(bytes, file);
  return decodeJpeg(bytes, file);
}

/** Where slice z comes from and how to decode it. */
interface SliceSource {
  readonly count: number;
  name(z: number): string;
  decode(z: number): Promise<Slice>;
}

class ImageStackSource implements VolumeSource {
  readonly format = "images";
  private readonly cache = new Map<number, Promise<Slice>>();
  /** Decoded bytes of each settled cache entry, and their sum. */
  private readonly sizes = new Map<number, number>();
  private cached = 0;

  constructor(
    readonly url: string,
    readonly shape: Shape4,
    readonly dataType: DataType,
    private readonly slices: SliceSource,
    first: Slice,
    private readonly cacheBytes: number,
  ) {
    this.cache.set(0, Promise.resolve(first));
    this.sizes.set(0, first.data.byteLength);
    this.cached = first.data.byteLength;
  }

  /** Decoded slice z (checked against the first slice), through the LRU cache. */
  private slice(z: number): Promise<Slice> {
    const hit = this.cache.get(z);
    if (hit) {
      this.cache.delete(z);
      this.cache.set(z, hit);
      return hit;
    }
    const p = this.slices.decode(z).then((s) => {
      const [w, h, , c] = this.shape;
      if (s.width !== w || s.height !== h || s.channels !== c || s.dataType !== this.dataType) {
        throw new ShapeMismatchError(
          `${this.slices.name(z)}: slice ${z} is ${s.width}x${s.height}, ${s.channels} channel(s) ${s.dataType}; ` +
            `the stack (from ${this.slices.name(0)}) is ${w}x${h}, ${c} channel(s) ${this.dataType}`,
          this.slices.name(z),
        );
      }
      this.sizes.set(z, s.data.byteLength);
      this.cached += s.data.byteLength;
      this.evict(z);
      return s;
    });
    this.cache.set(z, p);
    p.catch(() => this.cache.delete(z));
    return p;
  }

  /** Drop least recently used decoded slices (never `keep`, nor pending ones) down to the budget. */
  private evict(keep: number): void {
    for (const k of this.cache.keys()) {
      if (this.cached <= this.cacheBytes) break;
      const bytes = this.sizes.get(k);
      if (k === keep || bytes === undefined) continue;
      this.cache.delete(k);
      this.sizes.delete(k);
      this.cached -= bytes;
    }
  }

  async readBlock(bbox: BlockBox, opts: ReadBlockOptions = {}): Promise<VoxelArray> {
    const size = blockSize(bbox, this.shape, this.url);
    const [nx, ny, nz, nc] = size;
    const [w, h] = this.shape;
    const out = allocTyped(this.dataType, nx * ny * nz * nc);
    const outStride: Shape4 = [1, nx, nx * ny, nx * ny * nz];
    for (let z = 0; z < nz; z++) {
      opts.signal?.throwIfAborted();
      const s = await this.slice(bbox.min[2] + z);
      copyStrided(
        s.data,
        bbox.min[0] + w * bbox.min[1],
        [1, w, 0, w * h],
        [nx, ny, 1, nc],
        out,
        z * outStride[2],
        outStride,
      );
    }
    return fromTyped(out, size);
  }

  async close() {
    this.cache.clear();
    this.sizes.clear();
    this.cached = 0;
  }
}

/**
 * Open a stack of 2-D images as a {@link VolumeSource} of shape
 * `[width, height, slices, channels]`: a directory of .tif/.tiff/.png/.jpg
 * files, a glob such as `"scans/z_*.png"`, an explicit list of files, or a
 * single (multi-page) TIFF file. RGB images give 3 channels.
 *
 * ```ts
 * const src = await openImageStack("em/slices/"); // slice1.png .. slice120.png
 * src.shape; // [width, height, 120, 1]
 * ```
 */
export async function openImageStack(
  spec: string | string[],
  opts: ImageStackOptions = {},
): Promise<VolumeSource> {
  const label = Array.isArray(spec) ? (spec[0] ?? "(empty list)") : spec;
  let slices: SliceSource;
  const single =
    typeof spec === "string" && TIFF_EXT.test(spec) && !/[*?[]/.test(path.basename(spec));
  if (
    single &&
    (await stat(path.resolve(spec.replace(/^file:\/\//, ""))).catch(() => null))?.isFile()
  ) {
    const file = path.resolve(spec.replace(/^file:\/\//, ""));
    const bytes = new Uint8Array(await readFile(file));
    const pages: IFD[] = tiffPages(bytes, file);
    slices = {
      count: pages.length,
      name: (z) => `${file} page ${z}`,
      decode: async (z) => decodeTiffPage(bytes, { ...pages[z] }, `${file} page ${z}`),
    };
  } else {
    const files = await listSlices(spec);
    if (files.length === 0)
      throw new SourceError(`${label}: no .tif/.tiff/.png/.jpg slices found`, label);
    slices = { count: files.length, name: (z) => files[z], decode: (z) => decodeFile(files[z]) };
  }
  const first = await slices.decode(0);
  const url = typeof spec === "string" ? path.resolve(spec.replace(/^file:\/\//, "")) : label;
  return new ImageStackSource(
    url,
    [first.width, first.height, slices.count, first.channels],
    first.dataType,
    slices,
    first,
    Math.max(0, opts.cacheBytes ?? 256 * 2 ** 20),
  );
}
