/**
 * LZMA ("alone" format: the `.lzma` files of `lzma --compress` and Python's
 * `lzma.FORMAT_ALONE`) decoding of a stream whose decoded size is known, with
 * the pure-JavaScript decoder of the `lzma1` package.
 *
 * `lzma1`'s public `decompress` trusts its input: a truncated stream is read
 * past its end as if the missing bytes were all ones, and a stream that is not
 * LZMA at all (an `.xz` file, say) can make it allocate gigabytes. So this
 * module drives the package's decoder itself, with three guards:
 * - the header is checked (properties byte, dictionary size) before decoding;
 * - the decoder is told the size we expect and a dictionary no larger than
 *   that (a back-reference can never reach further than the output so far), so
 *   memory and output are bounded by the expected size;
 * - reading past the end of the input throws, so a truncated stream is an
 *   error, never voxels made up from missing bytes.
 */
import { createRequire } from "node:module";
import * as path from "node:path";

/** The part of lzma1's input stream class the decoder uses. */
interface LzmaInputBuffer {
  buf: Uint8Array;
  pos: number;
  count: number;
  readByte(): number;
}
interface LzmaInputBufferClass {
  new (data: Uint8Array): LzmaInputBuffer;
}
interface LzmaOutputBuffer {
  buf: Uint8Array;
  count: number;
}
interface LzmaModules {
  Decoder: new () => { decompress(input: LzmaInputBuffer, output: LzmaOutputBuffer): void };
  BoundedInput: LzmaInputBufferClass;
  OutputBuffer: new (capacity: number) => LzmaOutputBuffer;
}

/** Why an LZMA stream could not be decoded (the caller wraps it with the key). */
export class LzmaStreamError extends Error {
  override name = "LzmaStreamError";
}

let modules: LzmaModules | undefined;

/**
 * lzma1 exports only `compress`/`decompress`; its decoder and stream classes
 * live in files of the package that its `exports` map does not list, so they
 * are loaded by path (the package is pinned to an exact version for that).
 */
function loadLzma(): LzmaModules {
  if (modules) return modules;
  const req = createRequire(__filename);
  const lib = path.join(path.dirname(req.resolve("lzma1/package.json")), "lib");
  const { Decoder } = req(path.join(lib, "decoder.js"));
  const { InputBuffer, OutputBuffer } = req(path.join(lib, "streams.js"));
  // Reading past the end throws instead of returning -1 (see the module comment).
  class BoundedInput extends (InputBuffer as LzmaInputBufferClass) {
    override readByte(): number {
      if (this.pos >= this.count) {
        throw new LzmaStreamError(
          `the stream ends after ${this.count} bytes, before its data does (truncated)`,
        );
      }
      return this.buf[this.pos++];
    }
  }
  modules = { Decoder, BoundedInput, OutputBuffer };
  return modules;
}

/** Size of the `.lzma` header: properties (1), dictionary size (4), decoded size (8). */
const HEADER = 13;

/** Whether `bytes` start like an `.xz` container (which is not the `.lzma` format). */
export function isXz(bytes: Uint8Array): boolean {
  const magic = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
  return bytes.length >= 6 && magic.every((b, i) => bytes[i] === b);
}

/**
 * Decode an `.lzma` stream that must hold exactly `expectedBytes` bytes.
 * Throws {@link LzmaStreamError} for a stream that is not `.lzma`, is
 * truncated or corrupt, or decodes to another size.
 */
export function decodeLzma(bytes: Uint8Array, expectedBytes: number): Uint8Array {
  if (isXz(bytes)) {
    throw new LzmaStreamError("this is an .xz container, not an .lzma stream");
  }
  if (bytes.length < HEADER) {
    throw new LzmaStreamError(`${bytes.length} bytes is shorter than the 13-byte .lzma header`);
  }
  // lc + 9 * (lp + 5 * pb) with lc <= 8, lp <= 4, pb <= 4.
  if (bytes[0] >= 9 * 5 * 5) {
    throw new LzmaStreamError(`properties byte ${bytes[0]} is not an LZMA one`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declaredLo = view.getUint32(5, true);
  const declaredHi = view.getUint32(9, true);
  const unknownSize = declaredLo === 0xffffffff && declaredHi === 0xffffffff;
  if (!unknownSize && (declaredHi !== 0 || declaredLo !== expectedBytes)) {
    const declared = declaredHi * 2 ** 32 + declaredLo;
    throw new LzmaStreamError(
      `the header declares ${declared} decoded bytes, ${expectedBytes} were expected`,
    );
  }
  // A private copy of the header telling the decoder the size to stop at and
  // a dictionary no larger than the output (see the module comment).
  const input = new Uint8Array(bytes.length);
  input.set(bytes);
  const headerView = new DataView(input.buffer);
  const dict = headerView.getUint32(1, true);
  headerView.setUint32(1, Math.max(4096, Math.min(dict, expectedBytes)), true);
  headerView.setUint32(5, expectedBytes, true);
  headerView.setUint32(9, 0, true);

  const { Decoder, BoundedInput, OutputBuffer } = loadLzma();
  const stream = new BoundedInput(input);
  const output = new OutputBuffer(Math.max(32, expectedBytes));
  try {
    new Decoder().decompress(stream, output);
  } catch (e) {
    if (e instanceof LzmaStreamError) throw e;
    throw new LzmaStreamError(`corrupt LZMA data (${(e as Error).message})`, { cause: e });
  }
  if (output.count !== expectedBytes) {
    throw new LzmaStreamError(
      `the stream decodes to ${output.count} bytes, ${expectedBytes} were expected`,
    );
  }
  return output.buf.length === expectedBytes ? output.buf : output.buf.slice(0, expectedBytes);
}
