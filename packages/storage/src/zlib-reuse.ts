/**
 * gzip and gunzip through zlib streams kept for reuse on the calling thread,
 * writing into memory the caller owns.
 *
 * Why: `zlib.gunzipSync` and `zlib.gzipSync` build a new zlib stream for
 * every call and return output assembled from freshly allocated pieces
 * (16 KiB, or the `chunkSize` asked for) joined at the end. A chunk coder
 * that gunzips a 1 MiB chunk thus allocates 2 MiB of ArrayBuffers and
 * throws them away. V8 counts ArrayBuffer memory as "external", and every
 * 64 MiB of it starts a full collection of the heap, whose concurrent
 * marking runs on V8's helper threads: in a downsample task this was most
 * of the CPU spent outside the pool threads (bench/RESULTS.md, dstask3).
 * Here inflation goes through one stream per thread, reset between calls,
 * straight into a buffer the caller reuses; deflation writes into a buffer
 * kept here and returns one array of the compressed size (through a new
 * stream each time: see {@link gzipReused}).
 *
 * Node has no public call that runs a zlib stream synchronously into a
 * given buffer; this drives the stream's native handle the way Node's own
 * `zlib.*Sync` functions do (`writeSync` of input and output ranges, the
 * stream's `_writeState` for what is left, `reset`). Where a Node version
 * lacks that shape, {@link zlibReuse} is false and callers use the public
 * functions instead.
 */
import * as zlib from "node:zlib";

/** The native handle of a zlib stream, as Node's `lib/zlib.js` drives it. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
  onerror: (message: string, errno: number, code: string) => void;
}

/** A zlib stream's internals used here. */
interface ZlibInternals {
  _handle?: ZlibHandle;
  _writeState?: Uint32Array;
}

/** Thrown by {@link gunzipInto} when the output does not fit the buffer given. */
export class ZlibOutputFull extends Error {
  constructor(readonly limit: number) {
    super(`inflates to more than ${limit} bytes`);
    this.name = "ZlibOutputFull";
  }
}

/** A zlib error of a reused stream: the message and code zlib gave (e.g. `Z_DATA_ERROR`). */
export class ZlibStreamError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = "ZlibStreamError";
  }
}

/** One reusable stream: the handle, its state words, and the error its last write reported. */
class ReusedStream {
  error: ZlibStreamError | undefined;

  constructor(
    readonly stream: zlib.Gunzip | zlib.Gzip,
    readonly handle: ZlibHandle,
    readonly state: Uint32Array,
  ) {
    handle.onerror = (message, _errno, code) => {
      this.error = new ZlibStreamError(message, code);
    };
  }

  /**
   * One `writeSync` with Z_FINISH; returns [output bytes written, input bytes
   * consumed]. A zlib error throws (the stream must then be dropped).
   */
  write(
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): [number, number] {
    this.handle.writeSync(zlib.constants.Z_FINISH, input, inOff, inLen, out, outOff, outLen);
    const error = this.error;
    if (error !== undefined) throw error;
    return [outLen - this.state[0], inLen - this.state[1]];
  }
}

/** The handle and state of a new stream, or undefined where Node's internals differ. */
function open(stream: zlib.Gunzip | zlib.Gzip): ReusedStream | undefined {
  const s = stream as unknown as ZlibInternals;
  const h = s._handle;
  if (
    h === undefined ||
    typeof h.writeSync !== "function" ||
    typeof h.reset !== "function" ||
    // Not `instanceof`: Node's internals may come from another realm (e.g. under jest's vm).
    Object.prototype.toString.call(s._writeState) !== "[object Uint32Array]"
  )
    return undefined;
  return new ReusedStream(stream, h, s._writeState as Uint32Array);
}

let inflater: ReusedStream | undefined;
/** A one-byte buffer that tells a stream that exactly filled its output whether more was coming. */
const probe = new Uint8Array(1);

/** Whether this Node's zlib streams can be driven for reuse (else callers use `zlib.*Sync`). */
export const zlibReuse: boolean = (() => {
  const g = zlib.createGunzip();
  const ok = open(g) !== undefined;
  g.close();
  return ok;
})();

function takeInflater(): ReusedStream {
  const s = inflater ?? open(zlib.createGunzip());
  if (s === undefined) throw new Error("zlib streams cannot be reused on this Node");
  inflater = undefined;
  return s;
}

/**
 * gunzip `data` into `out`, returning the number of bytes written (as
 * `zlib.gunzipSync`: concatenated members are all inflated). Throws
 * {@link ZlibOutputFull} when the output does not fit in `out` (inflation
 * stops there) and {@link ZlibStreamError} when the data is not gzip or is
 * cut short. Only where {@link zlibReuse} is true.
 */
export function gunzipInto(data: Uint8Array, out: Uint8Array): number {
  const s = takeInflater();
  let ok = false;
  try {
    const [n, used] = s.write(data, 0, data.byteLength, out, 0, out.byteLength);
    if (n === out.byteLength) {
      // The output is full: one more byte of room says whether the data ended there.
      const rest = data.byteLength - used;
      const [more] = s.write(data, used, rest, probe, 0, 1);
      if (more > 0) throw new ZlibOutputFull(out.byteLength);
    }
    ok = true;
    return n;
  } finally {
    if (ok || s.error === undefined) {
      s.handle.reset();
      inflater = s;
    } else s.stream.close();
  }
}

/** gzip's worst case for `n` bytes, with room to spare (zlib's deflateBound is smaller). */
function gzipBound(n: number): number {
  return n + (n >>> 3) + (n >>> 6) + 64;
}

/** Inputs above this are gzipped into a buffer of their own, not into the one kept. */
const MAX_KEPT_INPUT = 16 * 1024 * 1024;
let deflateOut: Uint8Array | undefined;

/**
 * `zlib.gzipSync(data, { level })`, byte for byte, into a reused output
 * buffer: the result is the one ArrayBuffer allocated, of the compressed
 * size, and owns its whole memory. The zlib stream is new for every call:
 * a reset deflate stream keeps its old window, and zlib's match search
 * reads window bytes past the input's end, so a reused stream can choose
 * other (valid) matches than a fresh one, and a rerun of a task would not
 * write the same bytes. Only where {@link zlibReuse} is true. With
 * `into`, bytes that fit are copied there and a view of it is returned
 * (nothing allocated); bytes that do not come back in new memory.
 */
export function gzipReused(data: Uint8Array, level: number, into?: Uint8Array): Uint8Array {
  // The stream's own output buffer is unused here: the smallest zlib allows.
  const stream = zlib.createGzip({ level, chunkSize: zlib.constants.Z_MIN_CHUNK });
  const s = open(stream);
  if (s === undefined) throw new Error("zlib streams cannot be reused on this Node");
  const bound = gzipBound(data.byteLength);
  let out =
    data.byteLength > MAX_KEPT_INPUT
      ? new Uint8Array(bound)
      : deflateOut !== undefined && deflateOut.byteLength >= bound
        ? deflateOut
        : (deflateOut = new Uint8Array(bound));
  try {
    let [n, used] = s.write(data, 0, data.byteLength, out, 0, out.byteLength);
    while (n === out.byteLength) {
      // Past the bound (it cannot be, but a short buffer must not cut the stream): grow and go on.
      const grown = new Uint8Array(2 * out.byteLength);
      grown.set(out);
      out = grown;
      const [m, u] = s.write(data, used, data.byteLength - used, out, n, out.byteLength - n);
      n += m;
      used += u;
    }
    if (into !== undefined && n <= into.byteLength) {
      into.set(out.subarray(0, n));
      return into.subarray(0, n);
    }
    return out.slice(0, n);
  } finally {
    stream.close();
  }
}
