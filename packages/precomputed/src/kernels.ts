/**
 * The kernel module of @ngpipe/precomputed: functions the shared worker pool
 * calls by name (see pool.ts). Only built-in codecs are available inside the
 * workers; chunks of user-registered encodings are coded on the main thread.
 */
export { decodeChunk, encodeChunk } from "./codecs/registry";
export { decodeStoredChunk, encodeStoredChunk } from "./volume/stored";
