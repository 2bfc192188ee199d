/**
 * Small mesh utilities: concatenation, welding, measures, topology checks.
 */

import { MeshInputError } from "../errors";
import type { Mesh } from "../types";

/** Concatenates meshes into one (vertices appended, indices shifted); no welding. */
export function concatMeshes(meshes: readonly Mesh[]): Mesh {
  let nv = 0;
  let nf = 0;
  for (const m of meshes) {
    nv += m.vertices.length;
    nf += m.faces.length;
  }
  const vertices = new Float32Array(nv);
  const faces = new Uint32Array(nf);
  let vo = 0;
  let fo = 0;
  for (const m of meshes) {
    vertices.set(m.vertices, vo);
    const base = vo / 3;
    for (let i = 0; i < m.faces.length; i++) faces[fo + i] = m.faces[i] + base;
    vo += m.vertices.length;
    fo += m.faces.length;
  }
  return { vertices, faces };
}

/**
 * Merges vertices with bit-identical coordinates (as fragments of neighbouring
 * cutouts produce on their shared plane), drops triangles that become
 * degenerate, and removes unreferenced vertices. Vertex order follows first
 * use in the input vertex order.
 */
export function weldMesh(mesh: Mesh): Mesh {
  const nv = mesh.vertices.length / 3;
  const bits = new Uint32Array(
    mesh.vertices.buffer,
    mesh.vertices.byteOffset,
    mesh.vertices.length,
  );
  let cap = 16;
  while (cap < 2 * nv) cap *= 2;
  const table = new Int32Array(cap).fill(-1);
  const remap = new Int32Array(nv);
  const out: number[] = [];
  let count = 0;
  for (let i = 0; i < nv; i++) {
    const a = bits[3 * i] | 0;
    const b = bits[3 * i + 1] | 0;
    const c = bits[3 * i + 2] | 0;
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d)) >>> 0;
    h = (h ^ (h >>> 15)) & (cap - 1);
    for (;;) {
      const j = table[h];
      if (j < 0) {
        table[h] = i;
        remap[i] = count++;
        out.push(i);
        break;
      }
      if ((bits[3 * j] | 0) === a && (bits[3 * j + 1] | 0) === b && (bits[3 * j + 2] | 0) === c) {
        remap[i] = remap[j];
        break;
      }
      h = (h + 1) & (cap - 1);
    }
  }
  const faces: number[] = [];
  const f = mesh.faces;
  for (let t = 0; t < f.length; t += 3) {
    const a = remap[f[t]];
    const b = remap[f[t + 1]];
    const c = remap[f[t + 2]];
    if (a !== b && b !== c && a !== c) faces.push(a, b, c);
  }
  const welded: Mesh = { vertices: new Float32Array(3 * count), faces: Uint32Array.from(faces) };
  for (let k = 0; k < count; k++) {
    const i = out[k];
    welded.vertices[3 * k] = mesh.vertices[3 * i];
    welded.vertices[3 * k + 1] = mesh.vertices[3 * i + 1];
    welded.vertices[3 * k + 2] = mesh.vertices[3 * i + 2];
  }
  return removeUnusedVertices(welded);
}

/** Drops vertices no triangle uses, renumbering the faces. */
export function removeUnusedVertices(mesh: Mesh): Mesh {
  const nv = mesh.vertices.length / 3;
  const remap = new Int32Array(nv).fill(-1);
  let count = 0;
  for (let i = 0; i < mesh.faces.length; i++)
    if (remap[mesh.faces[i]] < 0) remap[mesh.faces[i]] = 0;
  for (let i = 0; i < nv; i++) if (remap[i] === 0) remap[i] = count++;
  if (count === nv) return mesh;
  const vertices = new Float32Array(3 * count);
  for (let i = 0; i < nv; i++)
    if (remap[i] >= 0) {
      vertices[3 * remap[i]] = mesh.vertices[3 * i];
      vertices[3 * remap[i] + 1] = mesh.vertices[3 * i + 1];
      vertices[3 * remap[i] + 2] = mesh.vertices[3 * i + 2];
    }
  const faces = new Uint32Array(mesh.faces.length);
  for (let i = 0; i < faces.length; i++) faces[i] = remap[mesh.faces[i]];
  return { vertices, faces };
}

/** Total surface area, in squared physical units. */
export function meshArea(mesh: Mesh): number {
  const v = mesh.vertices;
  const f = mesh.faces;
  let area = 0;
  for (let t = 0; t < f.length; t += 3) {
    const a = 3 * f[t];
    const b = 3 * f[t + 1];
    const c = 3 * f[t + 2];
    const ux = v[b] - v[a];
    const uy = v[b + 1] - v[a + 1];
    const uz = v[b + 2] - v[a + 2];
    const wx = v[c] - v[a];
    const wy = v[c + 1] - v[a + 1];
    const wz = v[c + 2] - v[a + 2];
    const nx = uy * wz - uz * wy;
    const ny = uz * wx - ux * wz;
    const nz = ux * wy - uy * wx;
    area += Math.sqrt(nx * nx + ny * ny + nz * nz);
  }
  return area / 2;
}

/**
 * Signed enclosed volume (divergence theorem): positive for a closed mesh
 * whose triangles are counter-clockwise seen from outside.
 */
export function meshVolume(mesh: Mesh): number {
  const v = mesh.vertices;
  const f = mesh.faces;
  let vol = 0;
  for (let t = 0; t < f.length; t += 3) {
    const a = 3 * f[t];
    const b = 3 * f[t + 1];
    const c = 3 * f[t + 2];
    vol +=
      v[a] * (v[b + 1] * v[c + 2] - v[b + 2] * v[c + 1]) -
      v[a + 1] * (v[b] * v[c + 2] - v[b + 2] * v[c]) +
      v[a + 2] * (v[b] * v[c + 1] - v[b + 1] * v[c]);
  }
  return vol / 6;
}

/**
 * Marks the vertices whose triangles do not form one fan (a disc, or a
 * single open fan at a border): the triangles around a vertex must be
 * joined through the edges they share at it. Two sheets meeting at one
 * vertex (a pinch) make two fans. `point`, when given, maps vertex indices
 * to the `count` vertices checked (welding without rewriting the faces);
 * triangles with a repeated vertex are skipped. Null when none is marked.
 */
export function pinchedVertices(
  faces: Uint32Array,
  count: number,
  point?: Int32Array,
): Uint8Array | null {
  const id = (i: number) => (point ? point[i] : i);
  const start = new Uint32Array(count + 1);
  for (let t = 0; t < faces.length; t += 3) {
    const a = id(faces[t]);
    const b = id(faces[t + 1]);
    const c = id(faces[t + 2]);
    if (a === b || b === c || a === c) continue;
    start[a + 1]++;
    start[b + 1]++;
    start[c + 1]++;
  }
  // Each vertex's triangles, as the (next, previous) corners around it.
  for (let i = 0; i < count; i++) start[i + 1] += start[i];
  const fill = start.slice(0, count);
  const link = new Int32Array(2 * start[count]);
  for (let t = 0; t < faces.length; t += 3) {
    const a = id(faces[t]);
    const b = id(faces[t + 1]);
    const c = id(faces[t + 2]);
    if (a === b || b === c || a === c) continue;
    let at = fill[a]++;
    link[2 * at] = b;
    link[2 * at + 1] = c;
    at = fill[b]++;
    link[2 * at] = c;
    link[2 * at + 1] = a;
    at = fill[c]++;
    link[2 * at] = a;
    link[2 * at + 1] = b;
  }
  // One fan: the link edges (next, previous) of a vertex's triangles connect
  // all its neighbours (a union-find over them, numbered locally).
  let names = new Int32Array(64);
  let parent = new Int32Array(64);
  let size = 0;
  const local = (u: number): number => {
    for (let i = 0; i < size; i++) if (names[i] === u) return i;
    if (size === names.length) {
      const grow = (x: Int32Array) => {
        const y = new Int32Array(2 * x.length);
        y.set(x);
        return y;
      };
      names = grow(names);
      parent = grow(parent);
    }
    names[size] = u;
    parent[size] = size;
    return size++;
  };
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  let marked: Uint8Array | null = null;
  for (let v = 0; v < count; v++) {
    size = 0;
    for (let at = start[v]; at < start[v + 1]; at++)
      parent[root(local(link[2 * at]))] = root(local(link[2 * at + 1]));
    let roots = 0;
    for (let i = 0; i < size; i++) if (parent[i] === i) roots++;
    if (roots > 1) {
      marked ??= new Uint8Array(count);
      marked[v] = 1;
    }
  }
  return marked;
}

/** Result of {@link meshTopology}. */
export interface MeshTopology {
  /** Undirected edges used by exactly one triangle (holes, open borders). */
  boundaryEdges: number;
  /** Undirected edges used by more than two triangles. */
  nonManifoldEdges: number;
  /** Edges whose two triangles traverse them in the same direction (inconsistent orientation). */
  misorientedEdges: number;
  /** Triangles with a repeated vertex index. */
  degenerateFaces: number;
  /** Vertices whose triangles form more than one fan: two sheets meeting at one vertex (a pinch). */
  pinchedVertices: number;
  /** Every edge shared by exactly two triangles, and no degenerate triangle. */
  watertight: boolean;
  /** Watertight and no pinched vertex: a closed 2-manifold. */
  manifold: boolean;
  /** Watertight and every shared edge traversed once in each direction. */
  consistentlyOriented: boolean;
}

/** Counts boundary, non-manifold and inconsistently oriented edges, and pinched vertices. */
export function meshTopology(mesh: Mesh): MeshTopology {
  const f = mesh.faces;
  const nv = mesh.vertices.length / 3;
  if (nv >= 2 ** 26) throw new MeshInputError(`meshTopology supports < 2^26 vertices, got ${nv}`);
  // Directed edge keys a * nv + b, sorted; an undirected edge is the run of
  // keys min * nv + max with the direction kept in a parallel sign.
  const n = f.length;
  const keys = new Float64Array(n);
  let degenerateFaces = 0;
  for (let t = 0; t < n; t += 3) {
    if (f[t] === f[t + 1] || f[t + 1] === f[t + 2] || f[t] === f[t + 2]) degenerateFaces++;
    for (let k = 0; k < 3; k++) {
      const a = f[t + k];
      const b = f[t + ((k + 1) % 3)];
      // Forward edges (a < b) get an even key, backward ones an odd key.
      keys[t + k] = a < b ? (a * nv + b) * 2 : (b * nv + a) * 2 + 1;
    }
  }
  keys.sort();
  let boundaryEdges = 0;
  let nonManifoldEdges = 0;
  let misorientedEdges = 0;
  for (let i = 0; i < n; ) {
    const base = Math.floor(keys[i] / 2);
    let j = i;
    let forward = 0;
    while (j < n && Math.floor(keys[j] / 2) === base) {
      if (keys[j] % 2 === 0) forward++;
      j++;
    }
    const count = j - i;
    if (count === 1) boundaryEdges++;
    else if (count > 2) nonManifoldEdges++;
    else if (forward !== 1) misorientedEdges++;
    i = j;
  }
  const watertight = boundaryEdges === 0 && nonManifoldEdges === 0 && degenerateFaces === 0;
  const pinched = pinchedVertices(f, nv);
  let pinchedCount = 0;
  if (pinched) for (const p of pinched) pinchedCount += p;
  return {
    boundaryEdges,
    nonManifoldEdges,
    misorientedEdges,
    degenerateFaces,
    pinchedVertices: pinchedCount,
    watertight,
    manifold: watertight && pinchedCount === 0,
    consistentlyOriented: watertight && misorientedEdges === 0,
  };
}
