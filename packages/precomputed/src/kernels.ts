/**
 * The kernel module of @ngpipe/precomputed: functions the shared worker pool
 * calls by name (see pool.ts): the chunk codecs, the pyramid (downsampling)
 * kernels and the image-analysis kernels (slice histograms, contrast
 * stretch). Only built-in codecs are available inside the workers; chunks of
 * user-registered encodings are coded on the main thread.
 */

export {
  decodeStoredFileInto,
  encodeStoredFileFrom,
  writeShardFiles,
} from "./chunks/file-kernels";
export {
  decodeStoredChunk,
  decodeStoredChunkInto,
  encodeStoredChunk,
  encodeStoredChunkFrom,
} from "./chunks/stored";
export { decodeChunk, encodeChunk } from "./codecs/registry";
export { downsample, downsampleInto } from "./downsample/downsample";
export { stretchContrast } from "./image/contrast";
export { sliceHistograms } from "./image/histogram";
