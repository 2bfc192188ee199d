export { ChunkCoder, type ChunkCoderOptions, type CodeOptions } from "./coder";
export type { ChunkFiles, LocalFiles } from "./files";
export { ShardedChunkStore, type ShardedChunkStoreOptions, shardWriteBoxes } from "./sharded";
export type { ChunkCell, ChunkIoOptions, ChunkStore, StoredChunk } from "./store";
export { type ChunkCompression, decodeStoredChunk, encodeStoredChunk } from "./stored";
export { UnshardedChunkStore, type UnshardedChunkStoreOptions } from "./unsharded";
