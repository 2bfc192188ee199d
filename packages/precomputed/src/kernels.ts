/**
 * The kernel module of @ngpipe/precomputed: functions the shared worker pool
 * calls by name (see pool.ts). Only built-in codecs are available inside the
 * workers; chunks of user-registered encodings are coded on the main thread.
 */

export { decodeStoredChunk, encodeStoredChunk } from "./chunks/stored";
export { decodeChunk, encodeChunk } from "./codecs/registry";
