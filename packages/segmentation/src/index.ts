/**
 * @ngpipe/segmentation: pure label kernels over typed arrays, x fastest.
 * Nothing here does IO or depends on another ngpipe package.
 */

// Watershed, region graphs, agglomeration and metrics (issue 18).
export type {
  AgglomerateOptions,
  AgglomerationEdges,
  AgglomerationMethod,
  RemapTable,
} from "./agglomerate";
export { agglomerate } from "./agglomerate";
export type { SegmentationScores } from "./metrics";
export { evaluateSegmentation } from "./metrics";
export type {
  LabelArray,
  RegionGraph,
  RegionGraphOptions,
  RegionGraphReduce,
} from "./region-graph";
export { regionGraph } from "./region-graph";
export type { AffinityArray, Shape3 } from "./watershed/affinities";
export { AffinityInputError, SegmentationOptionError } from "./watershed/errors";
export type { SpanningTree } from "./watershed/merge";
export type { HistogramRange, WatershedThresholds } from "./watershed/thresholds";
export {
  accumulateHistogram,
  histogramEdge,
  histogramRange,
  quantileThreshold,
  RELATIVE_THRESHOLD_BINS,
  relativeThresholds,
  valueRange,
} from "./watershed/thresholds";
export type { WatershedOptions, WatershedResult } from "./watershed/watershed";
export { watershed } from "./watershed/watershed";
