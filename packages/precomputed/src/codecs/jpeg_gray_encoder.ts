/**
 * A baseline (sequential DCT, Huffman) JPEG encoder for 8-bit grayscale
 * images, written from ITU-T T.81 with the example tables of its Annex K.
 *
 * It exists because jpeg-js only writes 3-component (YCbCr) JPEGs, and
 * Neuroglancer rejects a JPEG chunk whose component count differs from the
 * volume's `num_channels`: a 1-channel volume needs 1-component JPEGs.
 */

/** Annex K.1 luminance quantization table, natural (row-major) order. */
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
  92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/** Annex K.3 luminance DC table: code counts per length 1..16, then the symbols. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/** Annex K.3 luminance AC table. */
const AC_BITS = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
const AC_VALUES = [
  0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
  0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
  0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
  0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
  0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
  0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
  0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
  0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
  0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
  0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
  0xf9, 0xfa,
];

/** ZIGZAG[k] = natural index of the k-th coefficient in zigzag order. */
const ZIGZAG = (() => {
  const order: number[] = [];
  for (let s = 0; s < 15; s++) {
    const lo = Math.max(0, s - 7);
    const hi = Math.min(s, 7);
    if (s % 2 === 0) for (let row = hi; row >= lo; row--) order.push(row * 8 + (s - row));
    else for (let row = lo; row <= hi; row++) order.push(row * 8 + (s - row));
  }
  return order;
})();

/** Canonical Huffman codes (T.81 Annex C) for symbol -> [code, length]. */
function huffmanCodes(bits: number[], values: number[]): { code: Uint16Array; size: Uint8Array } {
  const code = new Uint16Array(256);
  const size = new Uint8Array(256);
  let next = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) {
      code[values[k]] = next++;
      size[values[k]] = len;
      k++;
    }
    next <<= 1;
  }
  return { code, size };
}

const DC_CODES = huffmanCodes(DC_BITS, DC_VALUES);
const AC_CODES = huffmanCodes(AC_BITS, AC_VALUES);

/** COS[u * 8 + x] = C(u)/2 * cos((2x+1) u pi / 16). */
const COS = (() => {
  const t = new Float64Array(64);
  for (let u = 0; u < 8; u++)
    for (let x = 0; x < 8; x++)
      t[u * 8 + x] =
        ((u === 0 ? Math.SQRT1_2 : 1) / 2) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  return t;
})();

/** The IJG quality scaling of the luminance table, natural order. */
function quantTable(quality: number): Uint8Array {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Uint8Array.from(LUMA_QUANT, (v) =>
    Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))),
  );
}

class ByteSink {
  buf = new Uint8Array(4096);
  len = 0;
  private acc = 0;
  private nacc = 0;

  byte(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]);
  }

  word(w: number): void {
    this.byte(w >>> 8);
    this.byte(w & 0xff);
  }

  /** Appends the `n` low bits of `v` to the entropy-coded data (0xFF is followed by 0x00). */
  bits(v: number, n: number): void {
    this.acc = (this.acc << n) | (v & ((1 << n) - 1));
    this.nacc += n;
    while (this.nacc >= 8) {
      this.nacc -= 8;
      const b = (this.acc >>> this.nacc) & 0xff;
      this.byte(b);
      if (b === 0xff) this.byte(0);
    }
    this.acc &= (1 << this.nacc) - 1;
  }

  /** Pads the last byte with 1 bits. */
  flush(): void {
    if (this.nacc > 0) this.bits(0x7f, 8 - this.nacc);
  }
}

function bitLength(v: number): number {
  let a = v < 0 ? -v : v;
  let n = 0;
  while (a > 0) {
    n++;
    a >>= 1;
  }
  return n;
}

/**
 * Encodes an 8-bit grayscale image (row-major, `width * height` pixels) as a
 * 1-component baseline JFIF JPEG.
 * @param quality 1..100, with the IJG scaling of the standard table.
 */
export function encodeGrayJpeg(
  pixels: Uint8Array,
  width: number,
  height: number,
  quality: number,
): Uint8Array {
  const qt = quantTable(quality);
  const out = new ByteSink();
  out.word(0xffd8);
  // APP0 JFIF 1.01, no density unit, no thumbnail.
  out.word(0xffe0);
  out.word(16);
  out.bytes([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  out.word(0xffdb);
  out.word(67);
  out.byte(0);
  for (let k = 0; k < 64; k++) out.byte(qt[ZIGZAG[k]]);
  out.word(0xffc0);
  out.word(11);
  out.byte(8);
  out.word(height);
  out.word(width);
  out.bytes([1, 1, 0x11, 0]);
  out.word(0xffc4);
  out.word(2 + 17 + DC_VALUES.length + 17 + AC_VALUES.length);
  out.byte(0x00);
  out.bytes(DC_BITS);
  out.bytes(DC_VALUES);
  out.byte(0x10);
  out.bytes(AC_BITS);
  out.bytes(AC_VALUES);
  out.word(0xffda);
  out.word(8);
  out.bytes([1, 1, 0x00, 0, 63, 0]);

  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  const coef = new Int32Array(64);
  let prevDc = 0;
  for (let by = 0; by < height; by += 8) {
    for (let bx = 0; bx < width; bx += 8) {
      // Level-shifted samples; the image edge is replicated into partial blocks.
      for (let y = 0; y < 8; y++) {
        const row = Math.min(by + y, height - 1) * width;
        for (let x = 0; x < 8; x++)
          block[y * 8 + x] = pixels[row + Math.min(bx + x, width - 1)] - 128;
      }
      // Separable 2-D DCT: rows, then columns.
      for (let y = 0; y < 8; y++)
        for (let u = 0; u < 8; u++) {
          let s = 0;
          for (let x = 0; x < 8; x++) s += block[y * 8 + x] * COS[u * 8 + x];
          tmp[y * 8 + u] = s;
        }
      for (let v = 0; v < 8; v++)
        for (let u = 0; u < 8; u++) {
          let s = 0;
          for (let y = 0; y < 8; y++) s += tmp[y * 8 + u] * COS[v * 8 + y];
          coef[v * 8 + u] = Math.round(s / qt[v * 8 + u]);
        }
      const dc = coef[0];
      const diff = dc - prevDc;
      prevDc = dc;
      const dcSize = bitLength(diff);
      out.bits(DC_CODES.code[dcSize], DC_CODES.size[dcSize]);
      if (dcSize > 0) out.bits(diff < 0 ? diff - 1 : diff, dcSize);
      let run = 0;
      for (let k = 1; k < 64; k++) {
        const v = coef[ZIGZAG[k]];
        if (v === 0) {
          run++;
          continue;
        }
        while (run > 15) {
          out.bits(AC_CODES.code[0xf0], AC_CODES.size[0xf0]);
          run -= 16;
        }
        const size = bitLength(v);
        const symbol = (run << 4) | size;
        out.bits(AC_CODES.code[symbol], AC_CODES.size[symbol]);
        out.bits(v < 0 ? v - 1 : v, size);
        run = 0;
      }
      if (run > 0) out.bits(AC_CODES.code[0], AC_CODES.size[0]);
    }
  }
  out.flush();
  out.word(0xffd9);
  return out.buf.slice(0, out.len);
}
