/**
 * `evaluateSegmentation`: how far a segmentation is from a ground truth, from
 * the contingency table of their labels (n_ij voxels labelled i in the
 * segmentation and j in the truth): the Rand index, the adapted Rand error of
 * the SNEMI3D/CREMI challenges, and the variation of information split into
 * its split and merge parts. Every voxel counts; 0 is a label like any other.
 */
import { grow, PairTable } from "./pair-table";
import type { RegionLabels } from "./region-graph";
import { AffinityInputError } from "./watershed/errors";

/** Scores of a segmentation against a ground truth. */
export interface SegmentationScores {
  /** Fraction of voxel pairs on which both agree (same object or not), in [0, 1]. */
  randIndex: number;
  /** 1 - F-score of the Rand precision and recall; 0 when the partitions are equal. */
  adaptedRandError: number;
  /** Rand precision: sum n_ij^2 / sum s_i^2 (s: segment sizes). */
  precision: number;
  /** Rand recall: sum n_ij^2 / sum t_j^2 (t: ground-truth object sizes). */
  recall: number;
  /** H(segmentation | truth) in bits: how much the segmentation splits true objects. */
  voiSplit: number;
  /** H(truth | segmentation) in bits: how much the segmentation merges true objects. */
  voiMerge: number;
}

/** Dense ids 0..k-1 for the labels of `labels` (in order of first appearance). */
function denseIds(labels: RegionLabels): { ids: Uint32Array; sizes: Float64Array } {
  const index = new Map<number, number>();
  const ids = new Uint32Array(labels.length);
  let sizes = new Float64Array(1024);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    let d = index.get(v);
    if (d === undefined) {
      d = index.size;
      index.set(v, d);
      sizes = grow(sizes, d + 1);
    }
    ids[i] = d;
    sizes[d]++;
  }
  return { ids, sizes: sizes.subarray(0, index.size) };
}

function entropyTerms(counts: Float64Array, n: number): number {
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const p = counts[i] / n;
    if (p > 0) h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Scores `segmentation` against `groundTruth` (label arrays of the same
 * length, x fastest). Rand error 0 and VOI 0 mean the same partition, whatever
 * the ids.
 *
 * @example
 * ```ts
 * const { adaptedRandError, voiSplit, voiMerge } = evaluateSegmentation(ws.labels, truth);
 * ```
 */
export function evaluateSegmentation(
  segmentation: RegionLabels,
  groundTruth: RegionLabels,
): SegmentationScores {
  const n = segmentation.length;
  if (groundTruth.length !== n) {
    throw new AffinityInputError(
      `segmentation has ${n} voxels but groundTruth has ${groundTruth.length}`,
      "groundTruth",
    );
  }
  if (n === 0) {
    throw new AffinityInputError("cannot score empty label arrays", "segmentation");
  }
  const s = denseIds(segmentation);
  const t = denseIds(groundTruth);
  const pairs = new PairTable(Math.max(s.sizes.length, t.sizes.length) * 2);
  let nij = new Float64Array(1024);
  for (let i = 0; i < n; i++) {
    const k = pairs.add(s.ids[i], t.ids[i]);
    if (k === nij.length) nij = grow(nij, k + 1);
    nij[k]++;
  }
  const joint = nij.subarray(0, pairs.size);
  let sumNij2 = 0;
  let pairsBoth = 0;
  for (let k = 0; k < joint.length; k++) {
    sumNij2 += joint[k] * joint[k];
    pairsBoth += (joint[k] * (joint[k] - 1)) / 2;
  }
  let sumS2 = 0;
  let pairsS = 0;
  for (const v of s.sizes) {
    sumS2 += v * v;
    pairsS += (v * (v - 1)) / 2;
  }
  let sumT2 = 0;
  let pairsT = 0;
  for (const v of t.sizes) {
    sumT2 += v * v;
    pairsT += (v * (v - 1)) / 2;
  }
  const precision = sumNij2 / sumS2;
  const recall = sumNij2 / sumT2;
  const total = (n * (n - 1)) / 2;
  // Pairs together in one and apart in the other disagree; all others agree.
  const disagree = pairsS - pairsBoth + (pairsT - pairsBoth);
  const hJoint = entropyTerms(joint, n);
  return {
    randIndex: total === 0 ? 1 : (total - disagree) / total,
    adaptedRandError: 1 - (2 * precision * recall) / (precision + recall),
    precision,
    recall,
    voiSplit: hJoint - entropyTerms(t.sizes, n),
    voiMerge: hJoint - entropyTerms(s.sizes, n),
  };
}
