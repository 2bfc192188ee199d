/**
 * The kernel module of @ngpipe/precomputed: functions the shared worker pool
 * calls by name (see pool.ts): the chunk codecs and the pyramid (downsampling)
 * kernels. Only built-in codecs are available inside the workers; chunks of
 * user-registered encodings are coded on the main thread.
 */

export { decodeStoredChunk, decodeStoredChunkInto, encodeStoredChunk } from "./chunks/stored";
export { decodeChunk, encodeChunk } from "./codecs/registry";
export { downsample } from "./downsample/downsample";
