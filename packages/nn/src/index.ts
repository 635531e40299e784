// @resgrad/nn: layers as pure functions, the paper's ResNets, optimizers, schedules and checkpoints.
export * from './portable.js';
export { type Checkpoint, CheckpointError, loadCheckpoint, readSafetensors, saveCheckpoint, writeFileAtomic } from './checkpoint/checkpoint.js';
