/**
 * The scratch objects of the label stages: a JSON header and named typed
 * arrays in one little-endian binary object. Written whole and read whole;
 * rewriting one with the same content writes the same bytes.
 */

/** A typed array a record can hold. */
export type RecordArray = Uint32Array | Float64Array;

const KINDS = { u32: Uint32Array, f64: Float64Array } as const;

/** A scratch object that is not a record (truncated, another format). */
export class ScratchRecordError extends Error {
  override name = "ScratchRecordError";
}

/** Pack a header and arrays into bytes: u32 header length, JSON, padding to 8, the arrays. */
export function packRecord(
  header: Record<string, unknown>,
  arrays: Record<string, RecordArray>,
): Uint8Array {
  const layout: [string, "u32" | "f64", number][] = [];
  // Float64 arrays first so every array starts aligned to its element size.
  const names = Object.keys(arrays).sort(
    (a, b) => arrays[b].BYTES_PER_ELEMENT - arrays[a].BYTES_PER_ELEMENT || (a < b ? -1 : 1),
  );
  // By element size, not instanceof: arrays made in a worker thread come from another realm.
  for (const name of names)
    layout.push([name, arrays[name].BYTES_PER_ELEMENT === 8 ? "f64" : "u32", arrays[name].length]);
  const json = new TextEncoder().encode(JSON.stringify({ header, layout }));
  const start = Math.ceil((4 + json.length) / 8) * 8;
  let size = start;
  for (const name of names) size += arrays[name].byteLength;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let at = start;
  for (const name of names) {
    const a = arrays[name];
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at += a.byteLength;
  }
  return out;
}

/** Unpack {@link packRecord}'s bytes; `where` names the object in errors. */
export function unpackRecord<H>(
  bytes: Uint8Array,
  where: string,
): { header: H; arrays: Record<string, RecordArray> } {
  try {
    const copy = new Uint8Array(bytes); // aligned, owned
    const n = new DataView(copy.buffer).getUint32(0, true);
    const { header, layout } = JSON.parse(new TextDecoder().decode(copy.subarray(4, 4 + n))) as {
      header: H;
      layout: [string, "u32" | "f64", number][];
    };
    let at = Math.ceil((4 + n) / 8) * 8;
    const arrays: Record<string, RecordArray> = {};
    for (const [name, kind, length] of layout) {
      const Ctor = KINDS[kind];
      if (at + length * Ctor.BYTES_PER_ELEMENT > copy.length) throw new Error("truncated");
      arrays[name] = new Ctor(copy.buffer, at, length);
      at += length * Ctor.BYTES_PER_ELEMENT;
    }
    return { header, arrays };
  } catch (e) {
    throw new ScratchRecordError(
      `${where} is not a label-stage scratch record: ${(e as Error).message}`,
    );
  }
}
