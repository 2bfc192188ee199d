/**
 * Crackle's boundary layer: the crack code of one z slice, turned into the
 * slice's connected components.
 *
 * A crack code walks the edges between pixels ("cracks") on the grid of
 * pixel corners, `(sx + 1) x (sy + 1)` vertices with vertex `x + (sx + 1) y`.
 * Each chain starts at a vertex listed in the slice's beginning-of-chain
 * index and is a sequence of 2-bit moves (0 up, 1 right, 2 down, 3 left),
 * stored as differences modulo 4, either packed four to a byte or with a
 * Markov model's prefix code. A move followed by its opposite is not a
 * move: down-up and right-left end a branch, up-down and left-right open
 * one (the walk returns to the branch vertex when that branch ends).
 * Cracks mark the edges where the labels differ ("impermissible") or,
 * in the other crack format, where they are equal ("permissible").
 *
 * Decoding paints the cracks into a voxel connectivity graph (four bits
 * per pixel: +x, -x, +y, -y passable) and numbers its 4-connected
 * components 0, 1, ... in order of first appearance, which is the order
 * the encoder numbered them in.
 */
/** Little-endian unsigned integer of `width` bytes at `at` (exact up to 2^53). */
export function readUint(bytes: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = width - 1; i >= 0; i--) v = v * 256 + bytes[at + i];
  return v;
}

/** Bits of the voxel connectivity graph. */
const PX = 0b0001;
const MX = 0b0010;
const PY = 0b0100;
const MY = 0b1000;

/** Byte width crackle uses for a value up to `x`. */
export function byteWidth(x: number): 1 | 2 | 4 | 8 {
  if (x <= 0xff) return 1;
  if (x <= 0xffff) return 2;
  return x <= 0xffffffff ? 4 : 8;
}

/** A Markov model: for each context row, the move difference of each prefix code rank. */
export type MarkovModel = Uint8Array[];

/** The 24 orders of four moves, in the reference's table order, 2 bits each. */
const MODEL_ROWS = (() => {
  const rows: number[] = [];
  const perm = (prefix: number[], rest: number[]) => {
    if (rest.length === 0) {
      rows.push(prefix.reduce((v, p, i) => v | (p << (2 * i)), 0));
      return;
    }
    rest.forEach((r, i) => {
      perm([...prefix, r], [...rest.slice(0, i), ...rest.slice(i + 1)]);
    });
  };
  perm([], [0, 1, 2, 3]);
  return rows;
})();

/**
 * Reads the stored Markov model of `order` (5 bits per row, an index into
 * the 24 orders of the four moves).
 */
export function readMarkovModel(
  bytes: Uint8Array,
  start: number,
  order: number,
  fail: (m: string) => Error,
): MarkovModel {
  const rows = 4 ** order;
  const model: MarkovModel = [];
  for (let r = 0; r < rows; r++) {
    const bit = 5 * r;
    const at = start + (bit >> 3);
    const word = bytes[at] | ((bytes[at + 1] ?? 0) << 8);
    const index = (word >> (bit & 7)) & 0b11111;
    if (index >= 24)
      throw fail(`crackle Markov model row ${r} has index ${index} (corrupt stream)`);
    const v = MODEL_ROWS[index];
    model.push(Uint8Array.of(v & 3, (v >> 2) & 3, (v >> 4) & 3, (v >> 6) & 3));
  }
  return model;
}

/** Start vertices of the chains of one slice's crack code (the beginning-of-chain index). */
function readChainStarts(
  code: Uint8Array,
  sx: number,
  sy: number,
  fail: (m: string) => Error,
): { starts: number[]; end: number } {
  if (code.length < 4)
    throw fail("crackle crack code is shorter than its index header (truncated stream)");
  const end = 4 + readUint(code, 0, 4);
  if (end > code.length)
    throw fail("crackle crack code index runs past the code (truncated stream)");
  const xw = byteWidth(sx + 1);
  const yw = byteWidth(sy + 1);
  const sxe = sx + 1;
  let at = 4;
  const take = (w: number) => {
    if (at + w > end) throw fail("crackle crack code index is truncated");
    const v = readUint(code, at, w);
    at += w;
    return v;
  };
  const starts: number[] = [];
  const ny = take(yw);
  let y = 0;
  for (let i = 0; i < ny; i++) {
    y += take(yw);
    const nx = take(xw);
    let x = 0;
    for (let j = 0; j < nx; j++) {
      x += take(xw);
      if (x > sx || y > sy)
        throw fail(`crackle chain start ${x},${y} lies outside the slice (corrupt stream)`);
      starts.push(x + sxe * y);
    }
  }
  return { starts, end };
}

/** Moves (absolute, 0..3) of a slice, undoing the difference filter. */
function unpackMoves(code: Uint8Array, from: number): Uint8Array {
  const moves = new Uint8Array((code.length - from) * 4);
  let last = 0;
  for (let i = from, k = 0; i < code.length; i++)
    for (let j = 0; j < 4; j++, k++) {
      last = (last + ((code[i] >> (2 * j)) & 3)) & 3;
      moves[k] = last;
    }
  return moves;
}

/** Moves of a Markov-coded slice: a 2-bit first move, then prefix codes ranked by the model. */
function markovMoves(
  code: Uint8Array,
  from: number,
  model: MarkovModel,
  order: number,
): Uint8Array {
  if (from >= code.length) return new Uint8Array(0);
  const out: number[] = [];
  // Context: the last `order` moves, oldest weighted 1, newest 4^(order-1).
  const hist = new Uint8Array(order);
  let head = 0;
  const push = (v: number) => {
    hist[head] = v;
    head = (head + 1) % order;
  };
  const row = () => {
    let r = 0;
    for (let i = 0, j = head; i < order; i++, j = (j + 1) % order) r += hist[j] * 4 ** i;
    return r;
  };
  const first = code[from] & 3;
  out.push(first);
  push(first);
  let context = row();
  let pos = 2;
  for (let i = from; i < code.length; i++) {
    const word = code[i] | (i + 1 < code.length ? code[i + 1] << 8 : 0);
    while (pos < 8) {
      const c = (word >> pos) & 0b111;
      let rank: number;
      if ((c & 1) === 0) {
        rank = 0;
        pos += 1;
      } else if ((c & 2) === 0) {
        rank = 1;
        pos += 2;
      } else {
        rank = c & 4 ? 3 : 2;
        pos += 3;
      }
      const v = model[context][rank];
      out.push(v);
      push(v);
      context = row();
    }
    pos -= 8;
  }
  const moves = Uint8Array.from(out);
  for (let i = 1; i < moves.length; i++) moves[i] = (moves[i] + moves[i - 1]) & 3;
  return moves;
}

/** How the chain moves of a slice are stored. */
export interface CrackCoding {
  /** Cracks mark equal neighbours (true) or different ones (false). */
  permissible: boolean;
  /** Markov model and its order, or null for packed moves. */
  markov: { model: MarkovModel; order: number } | null;
}

/**
 * Paints one slice's crack code into `vcg` (sx * sy pixels, 4 bits each).
 * @throws via `fail` when the code is corrupt: a chain leaving the slice,
 * unbalanced branches, or chains without moves.
 */
export function paintCrackCode(
  code: Uint8Array,
  sx: number,
  sy: number,
  coding: CrackCoding,
  vcg: Uint8Array,
  fail: (m: string) => Error,
): void {
  vcg.fill(coding.permissible ? 0 : PX | MX | PY | MY);
  if (code.length === 0) return;
  const { starts, end } = readChainStarts(code, sx, sy, fail);
  const moves = coding.markov
    ? markovMoves(code, end, coding.markov.model, coding.markov.order)
    : unpackMoves(code, end);
  const sxe = sx + 1;
  const set = coding.permissible;
  const mark = (p: number, bit: number) => {
    if (set) vcg[p] |= bit;
    else vcg[p] &= ~bit;
  };
  let x = 0;
  let y = 0;
  // Cracks along the slice's border never occur: a move must separate two pixels.
  const move = (m: number) => {
    if (m === 0 || m === 2) {
      const ny = m === 0 ? y - 1 : y + 1;
      if (x < 1 || x > sx - 1 || ny < 0 || ny > sy)
        throw fail(`crackle crack leaves the slice at ${x},${y} (corrupt stream)`);
      const row = Math.min(y, ny);
      mark(x - 1 + sx * row, PX);
      mark(x + sx * row, MX);
      y = ny;
    } else {
      const nx = m === 1 ? x + 1 : x - 1;
      if (y < 1 || y > sy - 1 || nx < 0 || nx > sx)
        throw fail(`crackle crack leaves the slice at ${x},${y} (corrupt stream)`);
      const col = Math.min(x, nx);
      mark(col + sx * (y - 1), PY);
      mark(col + sx * y, MY);
      x = nx;
    }
  };
  const branchStack: number[] = [];
  let chain = 0;
  let open = 0;
  let pending = -1;
  let last = -1;
  for (let i = 0; i < moves.length; i++) {
    if (open === 0) {
      if (chain >= starts.length) break;
      const v = starts[chain++];
      y = Math.floor(v / sxe);
      x = v - y * sxe;
      open = 1;
      branchStack.length = 0;
    }
    const m = moves[i];
    if (last < 0 || (m ^ last) !== 2) {
      if (pending >= 0) move(pending);
      pending = m;
      last = m;
      continue;
    }
    // The previous move and this one are opposite: a branch or its end, not two moves.
    pending = -1;
    last = -1;
    if (m === 0 || m === 3) {
      open--;
      const back = branchStack.pop();
      if (back !== undefined) {
        y = Math.floor(back / sxe);
        x = back - y * sxe;
      }
    } else {
      branchStack.push(x + sxe * y);
      open++;
    }
  }
  if (open !== 0 || chain !== starts.length)
    throw fail(
      `crackle crack code ends inside chain ${chain} of ${starts.length} (truncated stream)`,
    );
}
