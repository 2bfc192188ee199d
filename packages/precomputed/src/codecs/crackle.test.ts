import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { describeIf } from "../../../../test/support/skip";
import { ChunkDecodeError, ChunkEncodeError } from "../errors";
import { decodeCrackle, readCrackleHeader } from "./crackle";
import { crc8, crc32c } from "./crc";
import { decodeChunk, encodeChunk } from "./registry";

const DIR = resolve(__dirname, "../../../../../shared/data/crackle");
const SHAPE = [32, 32, 32] as const;

function file(name: string): Uint8Array {
  return new Uint8Array(readFileSync(resolve(DIR, name))).slice();
}

/** The voxels of a little-endian .npy file (header skipped), as bytes. */
function npyBytes(name: string): Uint8Array {
  const b = file(name);
  const headerLength = b[8] | (b[9] << 8);
  return b.subarray(10 + headerLength);
}

/** `bytes` with the header's format field changed by `edit`, CRC-8 recomputed. */
function withFormat(bytes: Uint8Array, edit: (format: number) => number): Uint8Array {
  const out = bytes.slice();
  const f = edit(out[5] | (out[6] << 8));
  out[5] = f & 0xff;
  out[6] = f >> 8;
  out[28] = crc8(out, 5, 28);
  return out;
}

const fixtures = existsSync(resolve(DIR, "random.ckl"));

describeIf(fixtures, `${DIR} not found`)(
  "crackle files decoded by the reference implementation",
  () => {
    it("random.ckl decodes to random.npy exactly", () => {
      const expected = npyBytes("random.npy");
      expect(expected.length).toBe(32 ** 3);
      const out = decodeChunk(file("random.ckl"), "crackle", {
        dtype: "uint8",
        shape: [...SHAPE, 1],
      });
      expect(out).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(out as Uint8Array).equals(Buffer.from(expected))).toBe(true);
    });

    const dtypes = { 1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64" } as const;
    for (const n of [1, 2, 4, 8] as const)
      for (const value of [0, 1]) {
        const name = `${value ? "ones" : "zeros"}${n}.ckl`;
        it(`${name} decodes to 32^3 ${value}s of ${dtypes[n]}`, () => {
          const out = decodeChunk(file(name), "crackle", {
            dtype: dtypes[n],
            shape: [...SHAPE, 1],
          });
          expect(out.length).toBe(32 ** 3);
          expect(out.every((v) => v === (n === 8 ? BigInt(value) : value))).toBe(true);
        });
      }

    it("ones_pins.ckl (variable-width pins) decodes to 32^3 ones", () => {
      expect(readCrackleHeader(file("ones_pins.ckl")).labelFormat).toBe("pins");
      const out = decodeChunk(file("ones_pins.ckl"), "crackle", {
        dtype: "uint8",
        shape: [...SHAPE, 1],
      });
      expect(out.every((v) => v === 1)).toBe(true);
    });

    it("the headers say what the files are", () => {
      expect(readCrackleHeader(file("random.ckl"))).toMatchObject({
        formatVersion: 1,
        dataWidth: 1,
        labelFormat: "flat",
        permissible: true,
        signed: false,
        markovOrder: 0,
        sx: 32,
        sy: 32,
        sz: 32,
      });
      expect(readCrackleHeader(file("ones8.ckl"))).toMatchObject({
        dataWidth: 8,
        storedDataWidth: 1,
      });
    });

    it("signed streams sign-extend their stored labels", () => {
      // random.ckl as int16 labels stored in one signed byte: 128..254 are -128..-2.
      const signed = withFormat(file("random.ckl"), (f) => (f & ~0b11) | 1 | (1 << 8));
      const out = decodeChunk(signed, "crackle", { dtype: "int16", shape: [...SHAPE, 1] });
      const expected = Int16Array.from(new Int8Array(npyBytes("random.npy").slice().buffer));
      expect(out).toEqual(expected);
    });
  },
);

describeIf(fixtures, `${DIR} not found`)("corrupt crackle streams", () => {
  const good = () => file("random.ckl");
  const key = "gs://bucket/seg/8_8_8/0-32_0-32_0-32";

  it("every truncation is a ChunkDecodeError naming the key", () => {
    const bytes = good();
    for (let n = 0; n < bytes.length; n += n < 200 ? 1 : 97)
      expect(() => decodeCrackle(bytes.slice(0, n), 1, SHAPE, key)).toThrow(ChunkDecodeError);
    expect(() => decodeCrackle(bytes.slice(0, 100), 1, SHAPE, key)).toThrow(
      /^gs:\/\/bucket\/seg\/8_8_8\/0-32_0-32_0-32: /,
    );
  });

  it("the checksums catch flipped bits in the header, index, labels and crack codes", () => {
    const bytes = good();
    const flip = (at: number) => {
      const b = bytes.slice();
      b[at] ^= 0x10;
      return () => decodeCrackle(b, 1, SHAPE, key);
    };
    expect(flip(8)).toThrow(/CRC-8/);
    expect(flip(40)).toThrow(/z index fails its CRC-32C/);
    expect(flip(29 + 33 * 4 + 20)).toThrow(/label section fails its CRC-32C/);
    expect(flip(bytes.length - 4 * 33 - 40)).toThrow(ChunkDecodeError);
  });

  it("random single-byte corruptions give ChunkDecodeError or the right number of voxels", () => {
    const bytes = good();
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bad = bytes.slice();
        bad[at % bad.length] ^= xor;
        try {
          expect(decodeCrackle(bad, 1, SHAPE, key).length).toBe(32 ** 3);
        } catch (e) {
          if (!(e instanceof ChunkDecodeError)) throw e;
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a stream of another size or width than the chunk is refused", () => {
    expect(() => decodeCrackle(good(), 1, [32, 32, 16], key)).toThrow(
      /32x32x32 voxels, the chunk is 32x32x16/,
    );
    expect(() => decodeCrackle(good(), 2, SHAPE, key)).toThrow(/1-byte labels, the layer 2-byte/);
    expect(() =>
      decodeCrackle(new TextEncoder().encode("not a crackle stream, not at all"), 1, SHAPE, key),
    ).toThrow(/magic/);
  });

  it("fixed-width pins (a format the reference does not read) are refused", () => {
    const fixed = withFormat(good(), (f) => (f & ~0b1100000) | (1 << 5));
    expect(() => decodeCrackle(fixed, 1, SHAPE, key)).toThrow(/fixed-width pins/);
  });
});

describe("the crackle codec", () => {
  it("refuses to encode, naming the key", () => {
    expect(() =>
      encodeChunk(new Uint32Array(8), "crackle", {
        dtype: "uint32",
        shape: [2, 2, 2, 1],
        key: "mem://x/k",
      }),
    ).toThrow(ChunkEncodeError);
  });

  it("refuses float chunks", () => {
    expect(() =>
      decodeChunk(new Uint8Array(40), "crackle", { dtype: "float32", shape: [2, 2, 2, 1] }),
    ).toThrow(/integer labels/);
  });
});

/**
 * A Markov-coded copy of a packed crackle file, made as the reference
 * encoder lays it out (no reference file of this kind was available): the
 * same moves, each after the first coded by its rank in the row of the
 * model its `order` previous move differences select, the model stored 5
 * bits a row as an index into the 24 orders of the four moves.
 */
function markovCopy(
  bytes: Uint8Array,
  order: number,
  rowOrder: (row: number) => number,
): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sz = dv.getUint32(15, true);
  const labelBytes = dv.getUint32(20, true);
  const labelsAt = 29 + 4 * (sz + 1);
  const perms: number[][] = [];
  const permute = (prefix: number[], rest: number[]) => {
    if (!rest.length) perms.push(prefix);
    rest.forEach((r, i) => {
      permute([...prefix, r], [...rest.slice(0, i), ...rest.slice(i + 1)]);
    });
  };
  permute([], [0, 1, 2, 3]);
  const rows = 4 ** order;
  const model = Array.from({ length: rows }, (_, r) => perms[rowOrder(r)]);
  const stored = new Uint8Array(Math.ceil((rows * 5) / 8));
  for (let r = 0; r < rows; r++)
    for (let b = 0; b < 5; b++)
      if ((rowOrder(r) >> b) & 1) stored[(5 * r + b) >> 3] |= 1 << ((5 * r + b) & 7);
  const codes: Uint8Array[] = [];
  let at = labelsAt + labelBytes;
  for (let z = 0; z < sz; z++) {
    const code = bytes.subarray(at, at + dv.getUint32(29 + 4 * z, true));
    at += code.length;
    if (code.length === 0) {
      codes.push(code);
      continue;
    }
    const indexEnd = 4 + new DataView(code.buffer, code.byteOffset).getUint32(0, true);
    const diffs: number[] = [];
    for (const b of code.subarray(indexEnd))
      for (let j = 0; j < 4; j++) diffs.push((b >> (2 * j)) & 3);
    const bits: number[] = [diffs[0] & 1, diffs[0] >> 1];
    const hist = new Array<number>(order).fill(0);
    hist[order - 1] = diffs[0];
    for (let i = 1; i < diffs.length; i++) {
      // Oldest difference weighs 1, the newest 4^(order-1).
      const row = hist.reduce((v, d, k) => v + d * 4 ** k, 0);
      const rank = model[row].indexOf(diffs[i]);
      bits.push(...[[0], [1, 0], [1, 1, 0], [1, 1, 1]][rank]);
      hist.shift();
      hist.push(diffs[i]);
    }
    const packed = new Uint8Array(Math.ceil(bits.length / 8));
    bits.forEach((bit, k) => {
      packed[k >> 3] |= bit << (k & 7);
    });
    const out = new Uint8Array(indexEnd + packed.length);
    out.set(code.subarray(0, indexEnd));
    out.set(packed, indexEnd);
    codes.push(out);
  }
  const total = codes.reduce((n, c) => n + c.length, 0);
  const tail = bytes.subarray(bytes.length - 4 * (sz + 1));
  const out = new Uint8Array(labelsAt + labelBytes + stored.length + total + tail.length);
  const ov = new DataView(out.buffer);
  out.set(bytes.subarray(0, labelsAt + labelBytes));
  codes.forEach((c, z) => {
    ov.setUint32(29 + 4 * z, c.length, true);
  });
  ov.setUint32(29 + 4 * sz, crc32c(out, 29, 29 + 4 * sz), true);
  let p = labelsAt + labelBytes;
  out.set(stored, p);
  p += stored.length;
  for (const c of codes) {
    out.set(c, p);
    p += c.length;
  }
  out.set(tail, p);
  const format = ov.getUint16(5, true) | (order << 9);
  ov.setUint16(5, format, true);
  out[28] = crc8(out, 5, 28);
  return out;
}

describeIf(fixtures, `${DIR} not found`)("Markov-coded crack codes", () => {
  for (const order of [1, 2, 5])
    it(`random.ckl re-coded with an order-${order} model decodes to random.npy`, () => {
      const bytes = markovCopy(file("random.ckl"), order, (row) => (row * 7 + order) % 24);
      expect(readCrackleHeader(bytes).markovOrder).toBe(order);
      expect(bytes.length).not.toBe(file("random.ckl").length);
      const out = decodeCrackle(bytes, 1, SHAPE, "markov");
      expect(
        Buffer.from(out.buffer).equals(
          Buffer.from(Uint32Array.from(npyBytes("random.npy")).buffer),
        ),
      ).toBe(true);
    });

  it("a model row index past the 24 orders is a ChunkDecodeError", () => {
    const bytes = markovCopy(file("random.ckl"), 1, () => 0);
    const dv = new DataView(bytes.buffer);
    const modelAt = 29 + 4 * 33 + dv.getUint32(20, true);
    bytes[modelAt] |= 0b11111;
    expect(() => decodeCrackle(bytes, 1, SHAPE, "k")).toThrow(/Markov model row 0 has index 31/);
  });
});
