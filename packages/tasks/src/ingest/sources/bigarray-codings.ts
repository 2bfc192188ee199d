/**
 * The chunk codings of BigArrays.jl datasets: raw, gzip, zstd and Blosc
 * (whose frames carry their own compressor: blosclz, lz4, zstd, zlib), and
 * the seed's image chunks, a Blosc frame after an opaque 10-byte prefix.
 *
 * A chunk is recognised by its own header rather than trusted to match the
 * `coding` of `config.json`: BigArrays.jl itself reads a "gzip" chunk without
 * the gzip magic number as raw bytes, cloud stores hand back "raw" chunks
 * gzip-encoded, and the seed's chunks had no coding recorded at all. Whatever
 * the header says, the decoded chunk must be exactly the chunk's size.
 */
import { gunzip } from "node:zlib";

/** The coding names `config.json` may give (case-insensitive). */
export const BIGARRAY_CODINGS = [
  "raw",
  "gzip",
  "zstd",
  "blosc",
  "blosclz",
  "lz4",
  "lz4hc",
  "zlib",
] as const;

/** Bytes before the Blosc frame in the seed's image chunks (`BigArrayTask`). */
export const SEED_PREFIX_BYTES = 10;

type Codec = { decode(data: Uint8Array): Promise<Uint8Array> };
let blosc: Promise<Codec> | undefined;
let zstd: Promise<Codec> | undefined;

/** numcodecs is ESM-only: its WebAssembly Blosc and Zstd codecs come in by dynamic import, once. */
function bloscCodec(): Promise<Codec> {
  blosc ??= import("numcodecs/blosc").then((m) => m.default.fromConfig({ id: "blosc" }) as Codec);
  return blosc;
}
function zstdCodec(): Promise<Codec> {
  zstd ??= import("numcodecs/zstd").then((m) => m.default.fromConfig({ id: "zstd" }) as Codec);
  return zstd;
}

/** Why a chunk could not be decoded (the reader adds the key). */
export class ChunkCodingError extends Error {
  override name = "ChunkCodingError";
}

/**
 * Where a Blosc frame of `expected` decoded bytes starts in `bytes` (0, or
 * after the seed's 10-byte prefix), or -1. A Blosc header (16 bytes) records
 * the decoded size at byte 4 and the frame's whole compressed size at byte
 * 12, both little-endian: both must match.
 */
export function bloscFrameStart(bytes: Uint8Array, expected: number): number {
  for (const at of [0, SEED_PREFIX_BYTES]) {
    if (bytes.length - at < 16) continue;
    const v = new DataView(bytes.buffer, bytes.byteOffset + at, 16);
    const version = v.getUint8(0);
    if (version < 1 || version > 5) continue;
    if (v.getUint32(4, true) === expected && v.getUint32(12, true) === bytes.length - at) return at;
  }
  return -1;
}

function isGzip(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0x1f && b[1] === 0x8b && b[2] === 0x08;
}

function isZstd(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd;
}

function gunzipBounded(data: Uint8Array, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    // One byte over the limit is enough to tell a too-long chunk.
    gunzip(data, { maxOutputLength: limit + 1 }, (err, out) =>
      err ? reject(err) : resolve(new Uint8Array(out.buffer, out.byteOffset, out.byteLength)),
    ),
  );
}

/**
 * Decode one chunk that must hold `expected` bytes: a Blosc frame (at 0 or
 * after the 10-byte prefix), a gzip or zstd stream, or the raw bytes.
 * Throws {@link ChunkCodingError} for anything else or a wrong decoded size.
 */
export async function decodeBigArrayChunk(
  bytes: Uint8Array,
  expected: number,
  coding: string | undefined,
): Promise<Uint8Array> {
  let out: Uint8Array;
  let what: string;
  const at = bloscFrameStart(bytes, expected);
  try {
    if (coding === "raw" && bytes.length === expected) {
      return bytes;
    } else if (at >= 0) {
      what = "Blosc frame";
      out = await (await bloscCodec()).decode(bytes.subarray(at));
    } else if (isGzip(bytes)) {
      what = "gzip stream";
      out = await gunzipBounded(bytes, expected);
    } else if (isZstd(bytes)) {
      what = "zstd frame";
      out = await (await zstdCodec()).decode(bytes);
    } else if (bytes.length === expected) {
      return bytes;
    } else {
      throw new ChunkCodingError(
        `${bytes.length} bytes are neither a Blosc, gzip or zstd stream of a chunk nor its ${expected} raw bytes`,
      );
    }
  } catch (e) {
    if (e instanceof ChunkCodingError) throw e;
    throw new ChunkCodingError(`undecodable chunk (${(e as Error).message})`, { cause: e });
  }
  if (out.length !== expected) {
    throw new ChunkCodingError(
      `the ${what} decodes to ${out.length} bytes, a chunk holds ${expected}`,
    );
  }
  return out;
}
