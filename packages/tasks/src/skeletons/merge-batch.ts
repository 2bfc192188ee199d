/** The merge's kernel: many objects' fragments merged in one call to the worker pool. */
import {
  type MergeSkeletonOptions,
  mergeSkeletonFragments,
  type SkeletonGraph,
} from "@ngpipe/segmentation";

/** One merged skeleton per object, in the order given (empty where nothing survives dust). */
export function mergeSkeletonBatch(
  objects: readonly (readonly SkeletonGraph[])[],
  options: MergeSkeletonOptions,
): SkeletonGraph[] {
  return objects.map((fragments) => mergeSkeletonFragments(fragments, options));
}
