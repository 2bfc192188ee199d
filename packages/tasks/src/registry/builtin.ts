/**
 * The built-in stages, registered when @ngpipe/tasks loads. The order is the
 * order the CLI lists their commands in. A new stage: its file, and a line here.
 */
import { downsampleStage } from "./downsample";
import { consensusStage, hyperSquareStage } from "./hypersquare";
import { contrastNormalizationStage, luminanceLevelsStage } from "./image-analysis";
import { ingestStage } from "./ingest";
import { connectedComponentsStage, dustStage, remapStage, voxelCountStage } from "./labels";
import { blackoutStage, deleteStage, touchStage } from "./maintenance";
import { convertStage, manifestStage, meshStage } from "./mesh";
import { quantizeStage } from "./quantize";
import { agglomerationStage, watershedStage } from "./seg";
import { skeletonMergeStage, skeletonStage } from "./skeletons";
import { registerStage } from "./stage";
import { transferStage } from "./transfer";

registerStage(ingestStage);
registerStage(downsampleStage);
registerStage(transferStage);
registerStage(quantizeStage);
registerStage(luminanceLevelsStage);
registerStage(contrastNormalizationStage);
registerStage(deleteStage);
registerStage(touchStage);
registerStage(blackoutStage);
registerStage(meshStage);
registerStage(manifestStage);
registerStage(convertStage);
registerStage(connectedComponentsStage);
registerStage(remapStage);
registerStage(voxelCountStage);
registerStage(dustStage);
registerStage(watershedStage);
registerStage(agglomerationStage);
registerStage(skeletonStage);
registerStage(skeletonMergeStage);
registerStage(hyperSquareStage);
registerStage(consensusStage);
