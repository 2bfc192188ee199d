/**
 * Three-component vectors as plain readonly tuples, in x, y, z order. The
 * helpers are small pure functions (no classes), so they cost no more than
 * writing the three lines by hand.
 */

/** An (x, y, z) triple: a point, a size, a factor or a resolution. */
export type Vec3 = readonly [number, number, number];

/** A Vec3 or one number meaning the same value on every axis. */
export type Vec3Like = Vec3 | number;

/** Builds a Vec3 (a tuple literal works as well). */
export function of(x: number, y: number, z: number): Vec3 {
  return [x, y, z];
}

/** `v` as a Vec3 (a number is broadcast to the three axes). */
export function toVec3(v: Vec3Like): Vec3 {
  return typeof v === "number" ? [v, v, v] : v;
}

/** Whether `v` is an array of three finite numbers. */
export function isVec3(v: unknown): v is Vec3 {
  return (
    Array.isArray(v) &&
    v.length === 3 &&
    v.every((x) => typeof x === "number" && Number.isFinite(x))
  );
}

/** Component-wise a + b. */
export function add(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [a[0] + c[0], a[1] + c[1], a[2] + c[2]];
}

/** Component-wise a - b. */
export function sub(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [a[0] - c[0], a[1] - c[1], a[2] - c[2]];
}

/** Component-wise a * b. */
export function mul(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [a[0] * c[0], a[1] * c[1], a[2] * c[2]];
}

/** Component-wise a / b (true division; see {@link floorDiv} for grid indices). */
export function div(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [a[0] / c[0], a[1] / c[1], a[2] / c[2]];
}

/** Component-wise floor(a / b), correct for negative `a`. */
export function floorDiv(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [Math.floor(a[0] / c[0]), Math.floor(a[1] / c[1]), Math.floor(a[2] / c[2])];
}

/** Component-wise ceil(a / b). */
export function ceilDiv(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [Math.ceil(a[0] / c[0]), Math.ceil(a[1] / c[1]), Math.ceil(a[2] / c[2])];
}

/** Component-wise floor. */
export function floor(a: Vec3): Vec3 {
  return [Math.floor(a[0]), Math.floor(a[1]), Math.floor(a[2])];
}

/** Component-wise ceil. */
export function ceil(a: Vec3): Vec3 {
  return [Math.ceil(a[0]), Math.ceil(a[1]), Math.ceil(a[2])];
}

/** Component-wise minimum. */
export function min(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [Math.min(a[0], c[0]), Math.min(a[1], c[1]), Math.min(a[2], c[2])];
}

/** Component-wise maximum. */
export function max(a: Vec3, b: Vec3Like): Vec3 {
  const c = toVec3(b);
  return [Math.max(a[0], c[0]), Math.max(a[1], c[1]), Math.max(a[2], c[2])];
}

/** Whether the three components are equal. */
export function equals(a: Vec3, b: Vec3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/** x * y * z. */
export function prod(a: Vec3): number {
  return a[0] * a[1] * a[2];
}

/** Whether every component is an integer. */
export function isIntegral(a: Vec3): boolean {
  return Number.isInteger(a[0]) && Number.isInteger(a[1]) && Number.isInteger(a[2]);
}

/** `x,y,z` as text, e.g. for messages: `[64, 64, 64]`. */
export function formatVec3(a: Vec3): string {
  return `[${a[0]}, ${a[1]}, ${a[2]}]`;
}
