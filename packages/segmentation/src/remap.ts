/**
 * Remap: replace every id of a label array through a table — a Map, (from,
 * to) pairs, or a dense array indexed by the old id (the seed's .npy maps).
 * The voxel loop runs in WebAssembly (assembly/remap.ts) a chunk at a time;
 * the JavaScript loops here are the reference the tests compare it with.
 */

import { sharedOutputMemory } from "../../precomputed/src/codecs/fresh_words";
import { IdTable } from "./id-table";
import { type IntegerLabelArray, type LabelWords, labelWords } from "./label-array";
import {
  fromWords,
  type LabelType,
  labelBytes,
  labelsOn,
  labelTypeOf,
  newLabels,
  toWords,
} from "./label-types";
import { WasmArena, wasmArena } from "./wasm/remap.wasm";
import { SegmentationOptionError } from "./watershed/errors";

/** A remap table: old id -> new id. */
export type RemapTable =
  | ReadonlyMap<number | bigint, number | bigint>
  | { from: ArrayLike<number | bigint>; to: ArrayLike<number | bigint> }
  | ArrayLike<number | bigint>;

/** Options of {@link remap}. */
export interface RemapOptions {
  /** Ids missing from the table keep their value instead of being an error. Default false. */
  preserveMissing?: boolean;
  /** Type of the output. Default: the input's. */
  dataType?: LabelType;
  /** Where the labels come from (a layer and box), for error messages. */
  context?: string;
  /**
   * Write the new ids into `labels` and return it instead of a new array
   * (fastremap's `in_place`): no allocation, so no page faults for a fresh
   * output. The output type must be the labels' own. If remap throws, the
   * labels may be partly remapped. Default false.
   */
  inPlace?: boolean;
}

/** An id of the labels that the remap table does not have. */
export class RemapMissingIdError extends Error {
  override name = "RemapMissingIdError";
  constructor(
    /** The missing id. */
    readonly id: bigint,
    context?: string,
  ) {
    super(
      `remap: id ${id}${context ? ` in ${context}` : ""} is not in the table (give every id a value, or preserve missing ids)`,
    );
  }
}

/** A new id that the output type cannot hold. */
export class RemapRangeError extends Error {
  override name = "RemapRangeError";
  constructor(
    /** The old id. */
    readonly id: bigint,
    /** Its new value. */
    readonly value: bigint,
    /** The output type. */
    readonly dataType: LabelType,
    context?: string,
  ) {
    super(
      `remap: id ${id}${context ? ` in ${context}` : ""} maps to ${value}, which a ${dataType} array cannot hold`,
    );
  }
}

/** A malformed remap table (from/to of different lengths, values that are not whole numbers). */
export class RemapTableError extends Error {
  override name = "RemapTableError";
}

/** The table as lookups over input words and values in output words. */
interface Lookup {
  /** Dense lookup: entry `lo` of the value arrays (hi must be 0); -1 when absent. */
  dense: Int32Array | undefined;
  table: IdTable;
  valueLo: Uint32Array;
  valueHi: Uint32Array;
  /** 1 when the value fits the output type, else 0 (an error if used). */
  fits: Uint8Array;
  /** Entry k's value as given (for error messages). */
  valueOf(k: number): bigint;
}

function asBigInt(v: number | bigint, where: string): bigint {
  if (typeof v === "bigint") return v;
  if (!Number.isSafeInteger(v))
    throw new RemapTableError(`remap table: ${where} is ${v}, not a whole number`);
  return BigInt(v);
}

function buildLookup(table: RemapTable, inType: LabelType, outType: LabelType): Lookup {
  const words = pairWords(table, inType, outType);
  if (words) return wordLookup(words.from, words.to, outType);
  const keys: bigint[] = [];
  const values: bigint[] = [];
  let denseLength = -1;
  if (table instanceof Map) {
    for (const [k, v] of table) {
      keys.push(asBigInt(k, `key ${k}`));
      values.push(asBigInt(v, `the value of ${k}`));
    }
  } else if ("from" in table && "to" in table && !ArrayBuffer.isView(table)) {
    const { from, to } = table as {
      from: ArrayLike<number | bigint>;
      to: ArrayLike<number | bigint>;
    };
    if (from.length !== to.length)
      throw new RemapTableError(`remap table: ${from.length} old ids but ${to.length} new ones`);
    for (let i = 0; i < from.length; i++) {
      keys.push(asBigInt(from[i], `from[${i}]`));
      values.push(asBigInt(to[i], `to[${i}]`));
    }
  } else {
    const dense = table as ArrayLike<number | bigint>;
    denseLength = dense.length;
    for (let i = 0; i < dense.length; i++) {
      keys.push(BigInt(i));
      values.push(asBigInt(dense[i], `entry ${i}`));
    }
  }
  const n = values.length;
  const valueLo = new Uint32Array(n);
  const valueHi = new Uint32Array(n);
  const fits = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const w = toWords(values[k], outType);
    if (w) {
      valueLo[k] = w[0];
      valueHi[k] = w[1];
      fits[k] = 1;
    }
  }
  const ids = new IdTable(Math.max(16, n));
  const slot = new Int32Array(n).fill(-1);
  for (let k = 0; k < n; k++) {
    const w = toWords(keys[k], inType);
    // A key the input type cannot hold never matches a voxel.
    if (w) slot[ids.add(w[0], w[1])] = k;
  }
  // Entry i of the IdTable is the i-th distinct key; the last duplicate wins, as in a Map.
  const order = slot.subarray(0, ids.size);
  const lookup: Lookup = {
    dense: undefined,
    table: ids,
    valueLo: pick(valueLo, order),
    valueHi: pick(valueHi, order),
    fits: pick(fits, order),
    valueOf: (k) => values[order[k]],
  };
  if (denseLength >= 0 && !inType.startsWith("i")) {
    // Unsigned input and a dense table: index by the id directly.
    const dense = new Int32Array(denseLength);
    for (let i = 0; i < denseLength; i++) dense[i] = ids.indexOf(i, 0);
    lookup.dense = dense;
  }
  return lookup;
}

/**
 * The words of a (from, to) table of 64-bit typed arrays whose ids and values
 * are of the labels' and the output's type (e.g. the stage's uint64 pair
 * files on a uint64 layer): every key and value fits, so the table is built
 * from the words without a BigInt per entry.
 */
function pairWords(
  table: RemapTable,
  inType: LabelType,
  outType: LabelType,
): { from: Uint32Array; to: Uint32Array } | undefined {
  if (table instanceof Map || !("from" in table && "to" in table) || ArrayBuffer.isView(table))
    return undefined;
  const { from, to } = table as { from: unknown; to: unknown };
  const kind = (a: unknown): LabelType | undefined =>
    a instanceof BigUint64Array ? "uint64" : a instanceof BigInt64Array ? "int64" : undefined;
  if (kind(from) !== inType || kind(to) !== outType) return undefined;
  const f = from as BigUint64Array;
  const t = to as BigUint64Array;
  if (f.length !== t.length)
    throw new RemapTableError(`remap table: ${f.length} old ids but ${t.length} new ones`);
  return {
    from: new Uint32Array(f.buffer, f.byteOffset, 2 * f.length),
    to: new Uint32Array(t.buffer, t.byteOffset, 2 * t.length),
  };
}

/** {@link buildLookup} over the words of {@link pairWords}. */
function wordLookup(from: Uint32Array, to: Uint32Array, outType: LabelType): Lookup {
  const n = from.length / 2;
  const ids = new IdTable(Math.max(16, n));
  const valueLo = new Uint32Array(n);
  const valueHi = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    // A repeated id takes its last value, as in a Map.
    const j = ids.add(from[2 * k], from[2 * k + 1]);
    valueLo[j] = to[2 * k];
    valueHi[j] = to[2 * k + 1];
  }
  const size = ids.size;
  return {
    dense: undefined,
    table: ids,
    valueLo: size === n ? valueLo : valueLo.slice(0, size),
    valueHi: size === n ? valueHi : valueHi.slice(0, size),
    fits: new Uint8Array(size).fill(1),
    valueOf: (k) => fromWords(valueLo[k], valueHi[k], outType),
  };
}

function pick<T extends Uint32Array | Uint8Array>(a: T, order: Int32Array): T {
  const out = new (a.constructor as new (n: number) => T)(order.length);
  for (let i = 0; i < order.length; i++) out[i] = a[order[i]];
  return out;
}

/**
 * Replace each id of `labels` by its value in `table`. An id the table lacks
 * is a {@link RemapMissingIdError} (or keeps its value with
 * `preserveMissing`); a value the output type cannot hold is a
 * {@link RemapRangeError}. Nothing is returned half-remapped.
 *
 * @example
 * remap(new Uint32Array([0, 5, 5, 9]), new Map([[0, 0], [5, 1], [9, 2]])); // Uint32Array [0, 1, 1, 2]
 */
export function remap(
  labels: IntegerLabelArray,
  table: RemapTable,
  options: RemapOptions = {},
): IntegerLabelArray {
  return remapWith(labels, table, options, "wasm");
}

/**
 * {@link remap} with its loops in WebAssembly (assembly/remap.ts) or in
 * JavaScript: the reference the tests compare the WebAssembly loops with.
 */
export function remapWith(
  labels: IntegerLabelArray,
  table: RemapTable,
  options: RemapOptions,
  engine: "wasm" | "js",
): IntegerLabelArray {
  const inType = labelTypeOf(labels);
  const outType = options.dataType ?? inType;
  const preserve = options.preserveMissing ?? false;
  if (options.inPlace && outType !== inType)
    throw new SegmentationOptionError(
      `remap: inPlace writes into the ${inType} labels; dataType ${outType} needs a new array`,
      "inPlace",
    );
  const lookup = buildLookup(table, inType, outType);
  const values = new Values(lookup, inType, outType, preserve, options.context);
  if (engine === "wasm") {
    if (options.inPlace) {
      remapChunks(labels, values, labels);
      return labels;
    }
    const inMemory = remapInMemory(labels, values, outType);
    if (inMemory) return inMemory;
    const out = newLabels(outType, labels.length).array;
    remapChunks(labels, values, out);
    return out;
  }
  const out = options.inPlace
    ? { array: labels, ...labelWords(labels, "remap") }
    : newLabels(outType, labels.length);
  const { words, pairs } = labelWords(labels, "remap");
  if (pairs) remapPairs(words as Uint32Array, labels.length, values, out.words, out.pairs);
  else remapWords(words, labels.length, values, out.words, out.pairs);
  return out.array;
}

/**
 * The new value of each id the labels hold, by index: the table's entries,
 * then the missing ids kept as they are (with `preserveMissing`). Each value
 * is held as words and, for 64-bit outputs, as the double with the same
 * bytes, so that a voxel takes one store.
 */
class Values {
  lo: Uint32Array;
  hi: Uint32Array;
  wide: Float64Array;
  private size: number;
  /** Missing ids kept as they are, by their index here. */
  private readonly kept = new IdTable(16);

  /** Number of values. */
  get count(): number {
    return this.size;
  }

  /** Whether value k can be written (a table entry whose value the output type holds). */
  usable(k: number): boolean {
    const { fits } = this.lookup;
    return k >= fits.length || fits[k] === 1;
  }

  /** The id (lo, hi) whose value has index k. */
  keyOf(k: number): [number, number] {
    const { table } = this.lookup;
    const t = k < table.size ? table : this.kept;
    const j = k < table.size ? k : k - table.size;
    return [t.lo[j], t.hi[j]];
  }

  constructor(
    private readonly lookup: Lookup,
    private readonly inType: LabelType,
    private readonly outType: LabelType,
    private readonly preserve: boolean,
    private readonly context: string | undefined,
  ) {
    const { valueLo, valueHi } = lookup;
    this.size = valueLo.length;
    this.wide = new Float64Array(this.size + 16);
    this.lo = new Uint32Array(this.wide.length);
    this.hi = new Uint32Array(this.wide.length);
    this.lo.set(valueLo);
    this.hi.set(valueHi);
    const w = new Uint32Array(this.wide.buffer);
    for (let k = 0; k < this.size; k++) {
      w[2 * k] = valueLo[k];
      w[2 * k + 1] = valueHi[k];
    }
  }

  /** The index of the value of id (lo, hi); throws when the id has none or it does not fit. */
  of(lo: number, hi: number): number {
    const { dense, table, fits } = this.lookup;
    const k = dense ? (hi === 0 && lo < dense.length ? dense[lo] : -1) : table.indexOf(lo, hi);
    if (k >= 0 && fits[k] === 1) return k;
    const id = fromWords(lo, hi, this.inType);
    if (k >= 0) throw new RemapRangeError(id, this.lookup.valueOf(k), this.outType, this.context);
    if (!this.preserve) throw new RemapMissingIdError(id, this.context);
    const w = toWords(id, this.outType);
    if (!w) throw new RemapRangeError(id, id, this.outType, this.context);
    const known = this.kept.indexOf(lo, hi);
    if (known >= 0) return this.lookup.valueLo.length + known;
    this.kept.add(lo, hi);
    return this.append(w[0], w[1]);
  }

  private append(lo: number, hi: number): number {
    const k = this.size++;
    if (k === this.wide.length) {
      const wide = new Float64Array(2 * k);
      wide.set(this.wide);
      this.wide = wide;
      const l = new Uint32Array(2 * k);
      l.set(this.lo);
      this.lo = l;
      const h = new Uint32Array(2 * k);
      h.set(this.hi);
      this.hi = h;
    }
    this.lo[k] = lo;
    this.hi[k] = hi;
    const w = new Uint32Array(this.wide.buffer, 8 * k, 2);
    w[0] = lo;
    w[1] = hi;
    return k;
  }
}

interface RemapExports {
  clear(slots: number, used: number, bits: number): void;
  insert(
    slots: number,
    used: number,
    bits: number,
    lo: number,
    hi: number,
    valueLo: number,
    valueHi: number,
  ): void;
  remap(
    inBytes: number,
    outBytes: number,
    input: number,
    output: number,
    from: number,
    to: number,
    slots: number,
    used: number,
    bits: number,
  ): number;
}

/** Voxels per chunk: a chunk's ids (and values) stay in the core's cache. */
const CHUNK = 1 << 15;

/** Bytes of the module's table for `count` values: room for four times as many ids. */
function tableBytes(count: number): number {
  return 17 << tableBits(count);
}

function tableBits(count: number): number {
  let bits = 4;
  while (1 << bits < 4 * count) bits++;
  return bits;
}

/**
 * The module's hash table in an arena, `offset` bytes into the arena's
 * region (a multiple of 16), holding every usable value of {@link Values}.
 */
class ModuleTable {
  bits = 0;
  used = 0;
  slots = 0;
  private readonly wasm: RemapExports;

  constructor(
    private readonly arena: WasmArena,
    private readonly values: Values,
    private readonly offset: number,
    /** Width of the output's values in bytes. */
    private readonly outBytes: number,
  ) {
    this.wasm = arena.exports as unknown as RemapExports;
    this.build();
  }

  /** (Re)builds the table with room for four times its entries. */
  private build(): void {
    const { values, wasm } = this;
    this.bits = tableBits(values.count);
    this.used = this.arena.reserve(this.offset + tableBytes(values.count)) + this.offset;
    this.slots = this.used + (1 << this.bits);
    wasm.clear(this.slots, this.used, this.bits);
    for (let k = 0; k < values.count; k++) {
      if (!values.usable(k)) continue;
      const [lo, hi] = values.keyOf(k);
      wasm.insert(this.slots, this.used, this.bits, lo, hi, values.lo[k], values.hi[k]);
    }
  }

  /** Resolves an id the table lacks ({@link Values.of} throws or keeps it) and adds it. */
  add(lo: number, hi: number): void {
    const k = this.values.of(lo, hi);
    if (2 * this.values.count > 1 << this.bits) this.build();
    else
      this.wasm.insert(
        this.slots,
        this.used,
        this.bits,
        lo,
        hi,
        this.values.lo[k],
        this.values.hi[k],
      );
  }

  /** Remaps voxels 0..m of a chunk (voxel `first` of the labels), resolving missing ids. */
  remap(labels: LabelWords, first: number, m: number, input: number, output: number): void {
    const inBytes = labels.pairs ? 8 : labels.words.BYTES_PER_ELEMENT;
    const { wasm, outBytes } = this;
    let done = 0;
    // The table may be rebuilt (moved and grown) by add: read its place each time.
    while (
      (done = wasm.remap(
        inBytes,
        outBytes,
        input,
        output,
        done,
        m,
        this.slots,
        this.used,
        this.bits,
      )) < m
    ) {
      const v = first + done;
      const { words, pairs } = labels;
      this.add(pairs ? words[2 * v] : words[v], pairs ? words[2 * v + 1] : 0);
    }
  }
}

/**
 * Remap in WebAssembly into an output that lives in a new shared
 * WebAssembly memory (see `sharedOutputMemory` in @ngpipe/precomputed's
 * fresh_words.ts), when the output is large enough and within the budget;
 * else `undefined`. Each chunk of ids is copied into the memory past the
 * output and the module writes the values straight into the output, so
 * nothing is copied out. The array's buffer is the whole memory (the output,
 * then the chunk and the table), so it is longer than the array.
 */
function remapInMemory(
  labels: IntegerLabelArray,
  values: Values,
  outType: LabelType,
): IntegerLabelArray | undefined {
  const n = labels.length;
  const inBytes = labels.BYTES_PER_ELEMENT;
  const outBytes = labelBytes(outType);
  const outLength = (n * outBytes + 15) & ~15;
  const memory = sharedOutputMemory(n * outBytes, CHUNK * inBytes + 2 * tableBytes(values.count));
  if (!memory) return undefined;
  const out = labelsOn(outType, memory.buffer, n);
  // The module has no static data, so its region may start at the output's end.
  const arena = new WasmArena(memory, outLength);
  const table = new ModuleTable(arena, values, CHUNK * inBytes, outBytes);
  const words = labelWords(labels, "remap");
  const src = new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength);
  const input = arena.base;
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    new Uint8Array(memory.buffer, input, m * inBytes).set(
      src.subarray(i * inBytes, (i + m) * inBytes),
    );
    table.remap(words, i, m, input, i * outBytes);
  }
  return out;
}

/**
 * Remap in WebAssembly through this thread's arena, a chunk at a time: each
 * chunk of ids is copied into the module's memory, remapped there and its
 * values copied out into `out` (which may be `labels`), so the copies run in
 * cache. Ids the module's table lacks come back to {@link Values.of}, which
 * throws or keeps them (and they join the table).
 */
function remapChunks(labels: IntegerLabelArray, values: Values, out: IntegerLabelArray): void {
  const n = labels.length;
  const inBytes = labels.BYTES_PER_ELEMENT;
  const outBytes = out.BYTES_PER_ELEMENT;
  const arena = wasmArena();
  const table = new ModuleTable(arena, values, CHUNK * (inBytes + 8), outBytes);
  const words = labelWords(labels, "remap");
  const src = new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength);
  const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    const input = arena.base;
    const output = input + CHUNK * inBytes;
    new Uint8Array(arena.memory.buffer, input, m * inBytes).set(
      src.subarray(i * inBytes, (i + m) * inBytes),
    );
    table.remap(words, i, m, input, output);
    dst.set(new Uint8Array(arena.memory.buffer, output, m * outBytes), i * outBytes);
  }
}

/**
 * Remap 64-bit ids, read as one double per voxel to see whether the id
 * changed: equal doubles have equal bytes except +0 and -0 (which differ in
 * the high word) and NaN patterns (never equal, so they compare words).
 * A 64-bit value is stored as a double when it is not a NaN pattern (whose
 * bytes a double store may not keep), else as two words.
 */
function remapPairs(
  words: Uint32Array,
  n: number,
  values: Values,
  out: Uint8Array | Uint16Array | Uint32Array,
  outPairs: boolean,
): void {
  const wide = new Float64Array(words.buffer, words.byteOffset, n);
  const owide = outPairs ? new Float64Array(out.buffer, out.byteOffset, n) : undefined;
  let pd = Number.NaN;
  let pl = -1;
  let ph = -1;
  let k = 0;
  let vd = 0;
  let vl = 0;
  let vh = 0;
  let number = true;
  for (let i = 0; i < n; i++) {
    const d = wide[i];
    if (d !== pd || (d === 0 && words[2 * i + 1] !== ph)) {
      const lo = words[2 * i];
      const hi = words[2 * i + 1];
      if (lo !== pl || hi !== ph) {
        k = values.of(lo, hi);
        vd = values.wide[k];
        vl = values.lo[k];
        vh = values.hi[k];
        number = !Number.isNaN(vd);
        pl = lo;
        ph = hi;
      }
      pd = d;
    }
    if (owide === undefined) out[i] = vl;
    else if (number) owide[i] = vd;
    else {
      out[2 * i] = vl;
      out[2 * i + 1] = vh;
    }
  }
}

/** Remap ids of up to 32 bits: the value is looked up again only where the id changes. */
function remapWords(
  words: Uint8Array | Uint16Array | Uint32Array,
  n: number,
  values: Values,
  out: Uint8Array | Uint16Array | Uint32Array,
  outPairs: boolean,
): void {
  const owide = outPairs ? new Float64Array(out.buffer, out.byteOffset, n) : undefined;
  let pl = -1;
  let k = 0;
  let vd = 0;
  let vl = 0;
  let vh = 0;
  let number = true;
  for (let i = 0; i < n; i++) {
    const lo = words[i];
    if (lo !== pl) {
      k = values.of(lo, 0);
      vd = values.wide[k];
      vl = values.lo[k];
      vh = values.hi[k];
      number = !Number.isNaN(vd);
      pl = lo;
    }
    if (owide === undefined) out[i] = vl;
    else if (number) owide[i] = vd;
    else {
      out[2 * i] = vl;
      out[2 * i + 1] = vh;
    }
  }
}
