/** Writing whole shard files through storage. */
import type { IoOptions } from "@ngpipe/storage";
import type { StorageWriter } from "../info/store";
import { type BuildShardOptions, buildShards, type ShardEntry } from "./shard";
import type { ShardingSpec } from "./spec";

/** Options of {@link writeShards}. */
export interface WriteShardsOptions extends IoOptions, BuildShardOptions {
  /** Key prefix of the shard files, e.g. the scale key `8_8_40`. */
  prefix?: string;
}

/**
 * Builds the shard files holding `entries` and writes each one, uncompressed
 * (shards are read with byte ranges) as `application/octet-stream`. Every
 * shard written is replaced whole, so `entries` must hold all chunks of the
 * shards they touch. Returns the keys written.
 */
export async function writeShards(
  storage: StorageWriter,
  entries: Iterable<ShardEntry>,
  spec: ShardingSpec,
  opts: WriteShardsOptions = {},
): Promise<string[]> {
  const p = opts.prefix ?? "";
  const prefix = p === "" || p.endsWith("/") ? p : `${p}/`;
  const keys: string[] = [];
  for (const [name, bytes] of buildShards(entries, spec, opts)) {
    const key = prefix + name;
    await storage.put(key, bytes, {
      contentType: "application/octet-stream",
      compress: false,
      signal: opts.signal,
    });
    keys.push(key);
  }
  return keys;
}
