import fixtures from "./fixtures/murmurhash.json";
import { murmurHash3X86_128, murmurHash3X86_128Low64 } from "./murmurhash";
import { joinU64, splitU64 } from "./spec";

function hex(words: Uint32Array): string {
  return Buffer.from(words.buffer, words.byteOffset, 16).toString("hex");
}

describe("MurmurHash3_x86_128", () => {
  test("matches SMHasher's published verification value 0xB3ECE62A", () => {
    // SMHasher's VerificationTest: hash keys 0..255 bytes long ({0,1,..,i-1})
    // with seed 256 - i, then hash the concatenated hashes with seed 0.
    const key = new Uint8Array(256);
    const all = new Uint8Array(256 * 16);
    for (let i = 0; i < 256; i++) {
      key[i] = i;
      all.set(new Uint8Array(murmurHash3X86_128(key.subarray(0, i), 256 - i).buffer), i * 16);
    }
    expect(murmurHash3X86_128(all, 0)[0]).toBe(0xb3ece62a);
  });

  test.each(fixtures.bytes)("matches the Python reference for $input_hex (seed $seed)", (v) => {
    expect(hex(murmurHash3X86_128(Buffer.from(v.input_hex, "hex"), v.seed))).toBe(v.hash_hex);
  });

  test("the uint64 fast path agrees with the Python reference and the byte version", () => {
    for (const v of fixtures.uint64) {
      const [lo, hi] = splitU64(BigInt(v.id));
      const w = murmurHash3X86_128Low64(lo, hi);
      expect(joinU64(w[0], w[1]).toString()).toBe(v.low64);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(v.id), true);
      const full = murmurHash3X86_128(bytes);
      expect([full[0], full[1]]).toEqual([w[0], w[1]]);
    }
  });
});
