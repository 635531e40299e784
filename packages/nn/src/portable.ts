// What of @resgrad/nn runs anywhere (browsers included): everything but the checkpoint files,
// which the package index adds for Node (safetensors encoding and parsing are here).
export { type ApplyOptions, type Initialized, type Layer, type ParamTree, serial } from './layer.js';
export { residual, type ResidualOptions } from './residual.js';
export { conv2d, type Conv2dLayerOptions } from './layers/conv.js';
export { batchNorm, type BatchNormOptions } from './layers/batchnorm.js';
export { linear, type LinearOptions } from './layers/linear.js';
export { avgPool, dropout, flatten, globalAvgPool, identity, maxPool, relu, stateless } from './layers/simple.js';
export { constant, fans, heNormal, type Initializer, lecunUniform, xavierNormal, xavierUniform } from './init.js';
export { projection, shortcutFor, type ShortcutOption, subsampleAndPad } from './models/shortcuts.js';
export {
  basicBlock, bottleneckBlock, resnetCifar, resnetImagenet, resnet20, resnet32, resnet44, resnet56, resnet110, resnet1202,
  type ResnetCifarOptions, type ResnetImagenetOptions,
} from './models/resnet.js';
export { countMacs, profile, summary, type SummaryRow } from './flops.js';
export { countParams, flattenNamed, mapTree, unflattenNamed, zipTrees } from './tree.js';
export { decayWeightsOnly, type DecayMask, type LearningRate, type Optimizer } from './optim/optimizer.js';
export { sgd, type SgdOptions, type SgdState } from './optim/sgd.js';
export { adam, adamw, type AdamOptions, type AdamState } from './optim/adam.js';
export { clipByGlobalNorm, globalNorm } from './optim/clip.js';
export {
  cosine, errorWarmup, linearWarmup, oneCycle, paperSchedule, piecewiseConstant, type Schedule, type ScheduleContext,
} from './optim/schedules.js';
export { top1Error, top5Error, topKError } from './metrics.js';
export { type TrainState, trainStep, type TrainStep, type TrainStepOptions, type TrainStepResult } from './train-step.js';
export { encodeSafetensors, MAX_HEADER_BYTES, parseSafetensors, type Result, type SafetensorsFile, type StoredTensor } from './checkpoint/safetensors.js';
