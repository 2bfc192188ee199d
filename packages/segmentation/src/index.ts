/**
 * @ngpipe/segmentation: pure label kernels over typed arrays, x fastest.
 * Nothing here does IO or depends on another ngpipe package.
 */

export type {
  AgglomerateOptions,
  AgglomerationEdges,
  AgglomerationMethod,
  AgglomerationTable,
} from "./agglomerate";
export { agglomerate } from "./agglomerate";
export {
  type ConnectedComponentsOptions,
  type ConnectedComponentsResult,
  type Connectivity,
  comparableLabels,
  connectedComponents,
} from "./ccl";
export { countVoxels, type VoxelCounts } from "./counts";
export {
  type DistanceLabels,
  DistanceTransformError,
  type DistanceTransformOptions,
  distanceTransform,
} from "./edt";
export {
  type IntegerLabelArray,
  type LabelArray,
  LabelArrayError,
  type Shape3,
} from "./label-array";
export { type LabelType, labelRange, labelTypeOf } from "./label-types";
export type { SegmentationScores } from "./metrics";
export { evaluateSegmentation } from "./metrics";
export type {
  RegionGraph,
  RegionGraphOptions,
  RegionGraphReduce,
  RegionLabels,
} from "./region-graph";
export { regionGraph } from "./region-graph";
export {
  RemapMissingIdError,
  type RemapOptions,
  RemapRangeError,
  type RemapTable,
  RemapTableError,
  remap,
} from "./remap";
export { type RenumberOptions, type RenumberResult, renumber } from "./renumber";
export {
  type MergeSkeletonOptions,
  mergeSkeletonFragments,
  type SkeletonGraph,
} from "./skeleton/merge";
export {
  type Skeleton,
  type SkeletonizeOptions,
  type SkeletonStats,
  skeletonize,
  skeletonStats,
} from "./skeleton/skeletonize";
export type { TeasarParams } from "./skeleton/teasar";
export { type AffinityArray, affinitiesAsFloat32 } from "./watershed/affinities";
export { type BasinGraph, type MergedBasins, mergeBasinGraph } from "./watershed/basin-merge";
export { AffinityInputError, SegmentationOptionError } from "./watershed/errors";
export type { SpanningTree } from "./watershed/merge";
export {
  locateRanks,
  lowBitCounts,
  RANK_BUCKETS,
  type RankPosition,
  type TopBitCounts,
  thresholdRank,
  thresholdsFromRanks,
  topBitCounts,
  valueAtRank,
} from "./watershed/rank-counts";
export type { HistogramRange, WatershedThresholds } from "./watershed/thresholds";
export {
  accumulateHistogram,
  histogramBin,
  histogramEdge,
  histogramRange,
  quantileThreshold,
  RELATIVE_THRESHOLD_BINS,
  relativeThresholds,
  valueRange,
} from "./watershed/thresholds";
export type { WatershedOptions, WatershedResult } from "./watershed/watershed";
export { watershed } from "./watershed/watershed";
