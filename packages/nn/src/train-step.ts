import { crossEntropy, jit, type Tensor, valueAndGrad } from '@resgrad/core';
import type { Layer, ParamTree } from './layer.js';
import { top1Error } from './metrics.js';
import type { Optimizer } from './optim/optimizer.js';

/** What a training step carries from one step to the next: trees of tensors, so they jit and checkpoint. */
export interface TrainState {
  params: ParamTree;
  /** Non-trained state, such as BatchNorm's running statistics. */
  state: ParamTree;
  optState: unknown;
}

export interface TrainStepOptions {
  /** Loss of a batch from the logits and the labels (default: softmax cross-entropy). */
  loss?: (logits: Tensor, labels: Tensor) => Tensor;
  /** Label smoothing of the default cross-entropy loss (default 0). */
  labelSmoothing?: number;
}

export interface TrainStepResult {
  next: TrainState;
  loss: Tensor;
  /** Top-1 error of the batch, in training mode. */
  error: Tensor;
}

/** A jitted step: `lr` a scalar tensor (so a schedule never retraces), or absent for the optimizer's own. */
export type TrainStep = (s: TrainState, x: Tensor, labels: Tensor, lr?: Tensor) => TrainStepResult;

/**
 * The supervised training step of a classifier as one jitted program: forward in training mode,
 * the loss, its gradient with respect to the parameters, the optimizer's update, and the
 * batch's top-1 error. The returned state replaces `s` (its tensors may be shared with `s`
 * where the step passes them through).
 *
 * @example
 * ```ts
 * const net = resnetCifar({ depth: 20 });
 * const opt = sgd({ momentum: 0.9, weightDecay: 1e-4 });
 * const { params, state } = net.init(random.key(0), [128, 3, 32, 32]);
 * const step = trainStep(net, opt);
 * let s: TrainState = { params, state, optState: opt.init(params) };
 * const { next, loss } = step(s, images, labels, tensor(0.1)); // images [128,3,32,32], int32 labels [128]
 * s = next;
 * ```
 */
export function trainStep(net: Layer, opt: Optimizer<any>, options: TrainStepOptions = {}): TrainStep {
  const lossOf = options.loss ?? ((logits: Tensor, y: Tensor) => crossEntropy(logits, y, { labelSmoothing: options.labelSmoothing ?? 0 }));
  const objective = (params: ParamTree, state: ParamTree, x: Tensor, y: Tensor) => {
    const [logits, newState] = net.apply(params, state, x, { train: true });
    return [lossOf(logits, y), { state: newState, logits }] as const;
  };
  const body = (s: TrainState, x: Tensor, y: Tensor, lr?: Tensor): TrainStepResult => {
    const [[loss, aux], grads] = valueAndGrad(objective, { hasAux: true })(s.params, s.state, x, y);
    const [params, optState] = opt.update(grads, s.optState, s.params, lr ? { lr } : {});
    return { next: { params, state: aux.state, optState }, loss: loss as Tensor, error: top1Error(aux.logits, y) };
  };
  // Two programs: with the learning rate as an input, and with the optimizer's own.
  const withLr = jit((s: TrainState, x: Tensor, y: Tensor, lr: Tensor) => body(s, x, y, lr));
  const withoutLr = jit((s: TrainState, x: Tensor, y: Tensor) => body(s, x, y));
  return (s, x, y, lr) => (lr ? withLr(s, x, y, lr) : withoutLr(s, x, y));
}
