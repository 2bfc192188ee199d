/**
 * @ngpipe/segmentation: pure label kernels over typed arrays, x fastest.
 * Nothing here does IO or depends on another ngpipe package.
 */

// Labels across a dataset (issue 14): connected components, remap, renumber, voxel counts.
export {
  type ConnectedComponentsOptions,
  type ConnectedComponentsResult,
  type Connectivity,
  comparableLabels,
  connectedComponents,
} from "./ccl";
export { countVoxels, type VoxelCounts } from "./counts";
export {
  type IntegerLabelArray,
  type LabelArray,
  LabelArrayError,
  type Shape3,
} from "./label-array";
export { type LabelType, labelRange, labelTypeOf } from "./label-types";
export {
  RemapMissingIdError,
  type RemapOptions,
  RemapRangeError,
  type RemapTable,
  RemapTableError,
  remap,
} from "./remap";
export { type RenumberOptions, type RenumberResult, renumber } from "./renumber";
