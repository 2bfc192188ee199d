/** A triangle mesh: `vertices` holds x,y,z per vertex, `faces` three vertex indices per triangle. */
export interface Mesh {
  /** Vertex positions, 3 per vertex (x, y, z), in physical units (nm) unless said otherwise. */
  vertices: Float32Array;
  /** Triangle vertex indices, 3 per triangle, counter-clockwise seen from outside. */
  faces: Uint32Array;
}

/**
 * A segment label. Labels below 2^53 are `number`s; larger uint64 labels are
 * `bigint`s, so every label is represented exactly.
 */
export type Label = number | bigint;

/** Three numbers for x, y, z. */
export type Vec3 = [number, number, number];

/**
 * Per cutout face, whether it is treated as closed (outside = background), in
 * the order x-low, x-high, y-low, y-high, z-low, z-high.
 */
export type FaceFlags = [boolean, boolean, boolean, boolean, boolean, boolean];
