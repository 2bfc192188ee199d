/**
 * The kernel module of @ngpipe/tasks: functions the shared worker pool calls
 * by name (see `runKernel` in @ngpipe/precomputed). Every export is a pure,
 * synchronous function over typed arrays.
 */

export { decodeBigArrayChunk } from "./ingest/sources/bigarray-codings";
export { decodeLzma } from "./ingest/sources/lzma";
export { quantizeChannel } from "./stages/quantize-kernel";
