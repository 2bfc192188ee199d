/**
 * How one scale of a layer is stored and coded: the {@link ChunkStore} of
 * its layout (one object per chunk, or shard files when the scale has a
 * `sharding` spec) and the {@link ChunkCoder} of its encoding, made from the
 * info and a volume's options. `Volume` does geometry over the two.
 */
import type { Storage } from "@ngpipe/storage";
import { ChunkCoder } from "../chunks/coder";
import { ShardedChunkStore } from "../chunks/sharded";
import type { ChunkStore } from "../chunks/store";
import { storedChunkLimit } from "../chunks/stored";
import { UnshardedChunkStore } from "../chunks/unsharded";
import { getCodec } from "../codecs/registry";
import type { DataType } from "../dtypes";
import { UnknownEncodingError } from "../errors";
import type { InfoJSON, Scale } from "../info/info";
import type { VolumeOptions } from "./options";

/**
 * Throws `UnknownEncodingError` naming `where()` when no codec handles
 * `encoding` (the name is only built then: reads call this every time).
 */
export function checkEncoding(encoding: string, where: () => string): void {
  try {
    getCodec(encoding);
  } catch (err) {
    if (err instanceof UnknownEncodingError)
      throw new UnknownEncodingError(`${where()}: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * Transport compression of the chunks written to an unsharded scale:
 * `options.compress`, by default gzip for raw, compressed_segmentation and
 * compresso (whose bytes compress well) and none for jpeg, png and crackle.
 */
function writeCompression(scale: Scale, options: VolumeOptions): "gzip" | "br" | undefined {
  const c = options.compress;
  if (c !== undefined) return c === false ? undefined : c;
  // compresso is made to be followed by a general-purpose compressor.
  const e = scale.encoding;
  return e === "raw" || e === "compressed_segmentation" || e === "compresso" ? "gzip" : undefined;
}

/** The chunk store and coder of `scale` of the layer at `storage`. */
export function scaleChunkIo(
  storage: Storage,
  info: InfoJSON,
  scale: Scale,
  options: VolumeOptions,
): { chunks: ChunkStore; coder: ChunkCoder } {
  const concurrency = options.concurrency ?? 32;
  const dtype = info.data_type as DataType;
  const chunks = scale.sharding
    ? new ShardedChunkStore(storage, scale, {
        concurrency,
        maxChunkBytes: storedChunkLimit(scale.encoding, {
          dtype,
          shape: [...scale.chunkSize, info.num_channels],
        }),
      })
    : new UnshardedChunkStore(storage, scale, {
        concurrency,
        writeCompression: writeCompression(scale, options),
      });
  const coder = new ChunkCoder({
    encoding: scale.encoding,
    dtype,
    numChannels: info.num_channels,
    blockSize: scale.blockSize,
    url: storage.url,
    scaleKey: scale.key,
    workers: options.workers,
    compressLevel: options.compressLevel,
    jpegQuality: options.jpegQuality,
  });
  return { chunks, coder };
}
