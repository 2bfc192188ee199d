/**
 * @ngpipe/segmentation: pure label kernels over typed arrays, x fastest.
 * Nothing here does IO or depends on another ngpipe package.
 */

// Distance transform (issue 16).
export {
  type DistanceLabels,
  DistanceTransformError,
  type DistanceTransformOptions,
  distanceTransform,
} from "./edt";
