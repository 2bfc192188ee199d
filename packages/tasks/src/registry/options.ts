/**
 * Zod pieces of the stages' option schemas: what a pipeline spec's
 * `options` may hold, checked before a stage writes anything.
 */
import { Bbox, type Vec3 } from "@ngpipe/precomputed";
import { z } from "zod";

/** `[x, y, z]` numbers. */
export const vec3Option = z
  .tuple([z.number(), z.number(), z.number()])
  .transform((v): Vec3 => [v[0], v[1], v[2]]);

/** `[x, y, z]` whole numbers ≥ 1 (shapes, factors, chunk sizes). */
export const shapeOption = z
  .tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()])
  .transform((v): Vec3 => [v[0], v[1], v[2]]);

/** A whole number ≥ 0. */
export const countOption = z.number().int().nonnegative();

/**
 * A box: a Bbox, a chunk name `x0-x1_y0-y1_z0-z1`, `{minpt, maxpt}` or
 * `[[min], [max]]` (what `Bbox.fromJSON` reads), made a Bbox.
 */
export const bboxOption = z.unknown().transform((v, ctx): Bbox => {
  if (v instanceof Bbox) return v;
  try {
    return Bbox.fromJSON(v);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});
