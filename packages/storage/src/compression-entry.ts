/**
 * `@ngpipe/storage/compression`: the synchronous codecs alone, for worker
 * threads (the kernel pool codes chunks with them) that must not load the
 * cloud SDKs the main entry point brings.
 */
export {
  compressSync,
  DEFAULT_COMPRESSION_LEVEL,
  type DecompressOptions,
  decompressInto,
  decompressSync,
  maxJsonBytes,
} from "./compression";
export { DecompressionError, DecompressionLimitError } from "./errors";
export type { Compression } from "./types";
