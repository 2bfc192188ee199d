/**
 * The codec registry: chunk codecs looked up by the `encoding` name of a
 * scale in the info file (case-insensitively, as Neuroglancer does). The
 * built-in codecs are registered when this module loads.
 */
import type { TypedArray } from "../dtypes";
import { ChunkEncodeError, UnknownEncodingError } from "../errors";
import { compressedSegmentationCodec } from "./compressed_segmentation";
import { compressoCodec } from "./compresso";
import { crackleCodec } from "./crackle";
import { jpegCodec } from "./jpeg";
import { pngCodec } from "./png";
import { rawCodec } from "./raw";
import type { ChunkCodec, ChunkContext } from "./types";

const codecs = new Map<string, ChunkCodec>();

/**
 * Adds a codec (or replaces the one with the same `encoding`).
 * @example
 * registerCodec({ encoding: "my_rle", dataTypes: ["uint8"], encode, decode });
 */
export function registerCodec(codec: ChunkCodec): void {
  codecs.set(codec.encoding.toLowerCase(), codec);
}

/** Names of every registered encoding, sorted. */
export function knownEncodings(): string[] {
  return [...codecs.values()].map((c) => c.encoding).sort();
}

/**
 * The codec for an info file's `encoding`.
 * @throws UnknownEncodingError listing the known encodings.
 */
export function getCodec(encoding: string): ChunkCodec {
  const codec = codecs.get(String(encoding).toLowerCase());
  if (!codec)
    throw new UnknownEncodingError(
      `unknown chunk encoding "${encoding}"; known encodings: ${knownEncodings().join(", ")}`,
    );
  return codec;
}

/**
 * Encodes one chunk's voxels (x fastest, planar channels) with the named codec.
 * @throws UnknownEncodingError, or ChunkEncodeError when the codec cannot store the data.
 * @example
 * const bytes = encodeChunk(labels, "compressed_segmentation", {
 *   dtype: "uint64", shape: [64, 64, 64, 1], blockSize: [8, 8, 8],
 * });
 */
export function encodeChunk(data: TypedArray, encoding: string, ctx: ChunkContext): Uint8Array {
  const codec = getCodec(encoding);
  if (!codec.dataTypes.includes(ctx.dtype))
    throw new ChunkEncodeError(
      `${ctx.key ? `${ctx.key}: ` : ""}encoding ${codec.encoding} does not store ${ctx.dtype} (it stores ${codec.dataTypes.join(", ")})`,
    );
  return codec.encode(data, ctx);
}

/**
 * Decodes one chunk's stored bytes with the named codec.
 * @throws UnknownEncodingError, or ChunkDecodeError naming `ctx.key` on bad input.
 */
export function decodeChunk(bytes: Uint8Array, encoding: string, ctx: ChunkContext): TypedArray {
  return getCodec(encoding).decode(bytes, ctx);
}

for (const codec of [
  rawCodec,
  compressedSegmentationCodec,
  compressoCodec,
  crackleCodec,
  jpegCodec,
  pngCodec,
])
  registerCodec(codec);
