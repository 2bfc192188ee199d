import "./builtin";

export { downsampleStage } from "./downsample";
export { contrastNormalizationStage, luminanceLevelsStage } from "./image-analysis";
export { ingestStage } from "./ingest";
export { connectedComponentsStage, dustStage, remapStage, voxelCountStage } from "./labels";
export { type BlackoutStageOptions, blackoutStage, deleteStage, touchStage } from "./maintenance";
export { convertStage, manifestStage, meshStage } from "./mesh";
export { quantizeStage } from "./quantize";
export { type AgglomerationStageOptions, agglomerationStage, watershedStage } from "./seg";
export {
  DuplicateStageError,
  defineStage,
  getStage,
  InvalidStageOptionsError,
  parseStageOptions,
  registeredStages,
  registerStage,
  type StageArgParsers,
  type StageCli,
  type StageCliArgument,
  type StageCliContext,
  type StageCliOption,
  type StageDefinition,
  type StageInput,
  StageRegistryError,
  type StageTasks,
  type TaskPhase,
  UnknownStageError,
} from "./stage";
export { transferStage } from "./transfer";
