/**
 * The sharded-output options the ingest, downsample and transfer stages
 * share: their JSON schema (a pipeline step's `options`), their flags
 * (`--sharded`, `--unsharded`, `--shard-bytes`) and the parsing of those.
 */
import { type ShardingSpec, validateShardingSpec } from "@ngpipe/precomputed";
import { z } from "zod";
import type { ShardedOutputOptions } from "../stages/sharding";
import type { StageArgParsers, StageCliOption } from "./stage";

/** A sharding spec, checked against the spec (a `ShardSpecError`'s message on failure). */
const shardingOption = z.unknown().transform((v, ctx): ShardingSpec => {
  try {
    return validateShardingSpec(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});

/** `sharded`, `shardBytes` and `sharding` as JSON stage options. */
export const shardedOptionsShape = {
  sharded: z.boolean().optional(),
  shardBytes: z.number().positive().optional(),
  sharding: shardingOption.optional(),
};

const shardBytesFlag: StageCliOption = {
  flags: "--shard-bytes <bytes>",
  description:
    "uncompressed bytes per shard (default: the most whose task fits --memory, at most 3.5e9)",
};

/** The flags of a stage that can write its scale sharded (`unsharded`: also `--unsharded`). */
export function shardedFlags(what: string, unsharded = false): StageCliOption[] {
  return [
    { flags: "--sharded", description: `write ${what} sharded, each task writing whole shards` },
    ...(unsharded
      ? [{ flags: "--unsharded", description: `write ${what} unsharded (one object per chunk)` }]
      : []),
    shardBytesFlag,
  ];
}

/** `--sharded`, `--unsharded`, `--shard-bytes` as stage options, checked. */
export function parseShardedFlags(
  o: Record<string, string | boolean | undefined>,
  parse: StageArgParsers,
): ShardedOutputOptions {
  if (o.sharded && o.unsharded)
    throw parse.usage("--sharded and --unsharded exclude each other; give one");
  const out: ShardedOutputOptions = {};
  if (o.sharded) out.sharded = true;
  if (o.unsharded) out.sharded = false;
  if (o.shardBytes !== undefined) {
    if (!o.sharded)
      throw parse.usage("--shard-bytes sizes the shards of --sharded; give --sharded too");
    out.shardBytes = parse.bytes(String(o.shardBytes), "--shard-bytes");
  }
  return out;
}
