/**
 * The `compresso` stream format (seung-lab/compresso, format versions 0 and 1,
 * as CloudVolume writes it and newer Neuroglancer reads it).
 *
 * A stream is a 36-byte header, then four sections: `ids` (the label of
 * each connected region of non-boundary voxels, in order of first
 * appearance), `values` (the distinct boundary bitfields of the
 * step-sized windows, sorted), `locations` (how to label each boundary
 * voxel that no earlier neighbour labels) and the run-length coded window
 * indices; version 1 appends a per-slice index that only random z access
 * needs. A voxel is a boundary voxel when its +x or +y neighbour (and, with
 * connectivity 6, its +z neighbour) holds another label.
 *
 * Labels are handled as 32-bit words (see label_words.ts), window
 * bitfields as (low, high) word pairs, so no BigInt is used.
 */
import { decodeFailure } from "./common";

/** Bytes of the header. */
export const HEADER_BYTES = 36;
/** The magic number "cpso". */
export const MAGIC = [0x63, 0x70, 0x73, 0x6f]; // "cpso"

/** Parsed compresso header. */
export interface CompressoHeader {
  formatVersion: number;
  dataWidth: number;
  sx: number;
  sy: number;
  sz: number;
  steps: [number, number, number];
  idSize: number;
  valueSize: number;
  locationSize: number;
  connectivity: 4 | 6;
}

/** Bytes of a window bitfield for steps covering `bits` voxels (the reference's rule). */
export function windowBytes(bits: number): 1 | 2 | 4 | 8 {
  if (bits <= 8) return 1;
  if (bits <= 16) return 2;
  return bits <= 32 ? 4 : 8;
}

/** Byte width of each entry of the version 1 z index. */
export function zIndexWidth(sx: number, sy: number): number {
  const worst = 2 * sx * sy;
  if (worst < 0xff) return 1;
  if (worst < 0xffff) return 2;
  return worst < 0xffffffff ? 4 : 8;
}

/** Little-endian unsigned integer of `width` bytes (exact up to 2^53). */
export function readUint(bytes: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
  return v;
}

/**
 * Parses and checks a compresso header.
 * @throws ChunkDecodeError (naming `key`) for a short stream, bad magic, an
 * unknown version, data width, connectivity or step size.
 */
export function readCompressoHeader(bytes: Uint8Array, key?: string): CompressoHeader {
  const fail = decodeFailure(key);
  if (bytes.length < HEADER_BYTES)
    throw fail(
      `compresso stream of ${bytes.length} bytes is shorter than its ${HEADER_BYTES}-byte header`,
    );
  if (!MAGIC.every((m, i) => bytes[i] === m))
    throw fail('not a compresso stream (no "cpso" magic)');
  const h: CompressoHeader = {
    formatVersion: bytes[4],
    dataWidth: bytes[5],
    sx: readUint(bytes, 6, 2),
    sy: readUint(bytes, 8, 2),
    sz: readUint(bytes, 10, 2),
    steps: [bytes[12], bytes[13], bytes[14]],
    idSize: readUint(bytes, 15, 8),
    valueSize: readUint(bytes, 23, 4),
    locationSize: readUint(bytes, 27, 8),
    connectivity: bytes[35] as 4 | 6,
  };
  if (h.formatVersion > 1)
    throw fail(`compresso format version ${h.formatVersion} is unknown (0 and 1 are read)`);
  if (![1, 2, 4, 8].includes(h.dataWidth))
    throw fail(`compresso data width ${h.dataWidth} is not 1, 2, 4 or 8`);
  if (h.connectivity !== 4 && h.connectivity !== 6)
    throw fail(`compresso connectivity ${h.connectivity} is not 4 or 6`);
  const bits = h.steps[0] * h.steps[1] * h.steps[2];
  if (bits === 0 || bits > 64)
    throw fail(`compresso steps ${h.steps.join("x")} do not cover 1..64 voxels`);
  return h;
}

/** Number of step-sized windows along x, y and z. */
export function windowCounts(
  shape: readonly [number, number, number],
  steps: readonly [number, number, number],
): [number, number, number] {
  return [
    Math.ceil(shape[0] / steps[0]),
    Math.ceil(shape[1] / steps[1]),
    Math.ceil(shape[2] / steps[2]),
  ];
}
