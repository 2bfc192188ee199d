/**
 * Marching-cubes case table, generated at load time from the cube's geometry
 * instead of being typed in.
 *
 * Corners are numbered `x + 2y + 4z` (bit i of a case index = corner i is
 * inside). Edge `e = 4 * axis + (u + 2v)` joins the corner at 0 and the corner
 * at 1 along `axis`, where (u, v) are the corner's coordinates along the two
 * other axes in increasing axis order.
 *
 * Each cube face contributes contour segments decided by its four corners
 * alone, with the same rule on both sides of the face: on an ambiguous face
 * (two diagonal inside corners) the inside corners are separated. Because
 * neighbouring cubes therefore agree on every shared face, the surface is
 * closed (every edge shared by exactly two triangles). The segments are chained
 * into loops, each loop is oriented so that its normal points from inside to
 * outside, and fanned into triangles.
 */

/** Offsets (dx, dy, dz) of corner i. */
function cornerOffset(i: number): [number, number, number] {
  return [i & 1, (i >> 1) & 1, (i >> 2) & 1];
}

/** The other two axes of `axis`, in increasing order. */
function otherAxes(axis: number): [number, number] {
  return axis === 0 ? [1, 2] : axis === 1 ? [0, 2] : [0, 1];
}

/** Corner index at the low end of edge e. */
export function edgeLowCorner(e: number): number {
  const axis = e >> 2;
  const [b, c] = otherAxes(axis);
  const off = [0, 0, 0];
  off[b] = e & 1;
  off[c] = (e >> 1) & 1;
  return off[0] + 2 * off[1] + 4 * off[2];
}

function edgeBetween(c0: number, c1: number): number {
  const lo = Math.min(c0, c1);
  const d = Math.abs(c1 - c0);
  const axis = d === 1 ? 0 : d === 2 ? 1 : 2;
  const [b, c] = otherAxes(axis);
  const o = cornerOffset(lo);
  return 4 * axis + o[b] + 2 * o[c];
}

/** Position of the midpoint of edge e in cube units. */
function edgeMidpoint(e: number): [number, number, number] {
  const p = cornerOffset(edgeLowCorner(e)).map(Number) as [number, number, number];
  p[e >> 2] = 0.5;
  return p;
}

function faceSegments(cases: number): Array<[number, number]> {
  const segs: Array<[number, number]> = [];
  for (let axis = 0; axis < 3; axis++) {
    const [b, c] = otherAxes(axis);
    for (let side = 0; side < 2; side++) {
      // Corners of the face in cyclic order.
      const q: number[] = [];
      for (const [ub, uc] of [
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 1],
      ]) {
        const o = [0, 0, 0];
        o[axis] = side;
        o[b] = ub;
        o[c] = uc;
        q.push(o[0] + 2 * o[1] + 4 * o[2]);
      }
      const inside = q.map((i) => (cases >> i) & 1);
      const edge = (k: number) => edgeBetween(q[k & 3], q[(k + 1) & 3]);
      const n = inside[0] + inside[1] + inside[2] + inside[3];
      if (n === 0 || n === 4) continue;
      if (n === 1 || n === 3) {
        const k = inside.indexOf(n === 1 ? 1 : 0);
        segs.push([edge(k + 3), edge(k)]);
      } else if (inside[0] === inside[2]) {
        // Ambiguous face: cut off each inside corner on its own.
        for (let k = 0; k < 4; k++) if (inside[k]) segs.push([edge(k + 3), edge(k)]);
      } else {
        const crossed: number[] = [];
        for (let k = 0; k < 4; k++) if (inside[k] !== inside[(k + 1) & 3]) crossed.push(edge(k));
        segs.push([crossed[0], crossed[1]]);
      }
    }
  }
  return segs;
}

function chainLoops(segs: Array<[number, number]>): number[][] {
  const byEdge = new Map<number, number[]>();
  segs.forEach(([a, b], i) => {
    for (const e of [a, b]) {
      const l = byEdge.get(e) ?? [];
      l.push(i);
      byEdge.set(e, l);
    }
  });
  const used = new Array(segs.length).fill(false);
  const loops: number[][] = [];
  for (let s = 0; s < segs.length; s++) {
    if (used[s]) continue;
    used[s] = true;
    const start = segs[s][0];
    const loop = [start];
    let cur = segs[s][1];
    while (cur !== start) {
      loop.push(cur);
      const next = (byEdge.get(cur) ?? []).find((i) => !used[i]);
      if (next === undefined) throw new Error(`marching cubes table: open contour`);
      used[next] = true;
      cur = segs[next][0] === cur ? segs[next][1] : segs[next][0];
    }
    loops.push(loop);
  }
  return loops;
}

function orientLoop(loop: number[], cases: number): number[] {
  // Newell normal of the loop versus the inside-to-outside direction of its edges.
  const p = loop.map(edgeMidpoint);
  const n = [0, 0, 0];
  for (let i = 0; i < p.length; i++) {
    const a = p[i];
    const b = p[(i + 1) % p.length];
    n[0] += (a[1] - b[1]) * (a[2] + b[2]);
    n[1] += (a[2] - b[2]) * (a[0] + b[0]);
    n[2] += (a[0] - b[0]) * (a[1] + b[1]);
  }
  let dot = 0;
  for (const e of loop) {
    const lowInside = (cases >> edgeLowCorner(e)) & 1;
    dot += n[e >> 2] * (lowInside ? 1 : -1);
  }
  return dot >= 0 ? loop : [...loop].reverse();
}

function buildTable(): { start: Uint16Array; edges: Uint8Array } {
  const start = new Uint16Array(257);
  const out: number[] = [];
  for (let cases = 0; cases < 256; cases++) {
    start[cases] = out.length;
    for (const raw of chainLoops(faceSegments(cases))) {
      const loop = orientLoop(raw, cases);
      for (let i = 1; i + 1 < loop.length; i++) out.push(loop[0], loop[i], loop[i + 1]);
    }
  }
  start[256] = out.length;
  return { start, edges: Uint8Array.from(out) };
}

const TABLE = buildTable();

/**
 * Triangles of case c are `MC_TRIANGLES[MC_START[c] .. MC_START[c + 1])`, three
 * edge indices per triangle, counter-clockwise seen from outside.
 */
export const MC_START: Uint16Array = TABLE.start;
/** Edge indices of all triangles of all cases; see {@link MC_START}. */
export const MC_TRIANGLES: Uint8Array = TABLE.edges;
