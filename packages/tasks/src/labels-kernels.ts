/**
 * The kernel module of the label stages (connected components, voxel
 * counts, remap): functions the shared worker pool calls by name. Every
 * export is a pure, synchronous function over typed arrays.
 */
export { countVoxels, remap, skeletonize } from "@ngpipe/segmentation";
export { applyFinalIds, cclBlock, cclLocalLabels } from "./labels/ccl-block";
export { applyRegionTable, basinGraphBlock } from "./seg/basin-graph";
export { agglomerationMap, mergeGraphs, regionGraphBlock } from "./seg/graph-block";
export {
  affinityHistogram,
  affinityLowCounts,
  affinityTopCounts,
} from "./seg/threshold-kernels";
export { watershedBlock } from "./seg/watershed-block";
export { mergeSkeletonBatch } from "./skeletons/merge-batch";
