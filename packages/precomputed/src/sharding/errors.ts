import { PrecomputedError } from "../errors";

/** A sharding specification that breaks sharded.md, or parameters that cannot be chosen. */
export class ShardSpecError extends PrecomputedError {
  override name = "ShardSpecError";
}

/** A shard file whose index, minishard index or chunk bytes are corrupt. Names the file and chunk. */
export class ShardError extends PrecomputedError {
  override name = "ShardError";
  constructor(
    message: string,
    /** Key or URL of the shard file. */
    readonly file: string,
    /** Chunk id being read, if any. */
    readonly chunkId?: bigint,
    options?: { cause?: unknown },
  ) {
    super(`${file}${chunkId === undefined ? "" : ` (chunk ${chunkId})`}: ${message}`, options);
  }
}
