// The training step, evaluation and model options shared by the CIFAR-10 scripts.
import {
  type Backend, crossEntropy, jit, tensor, type Tensor, treeFlatten, valueAndGrad,
} from '@resgrad/core';
import { type Layer, type Optimizer, resnetCifar, type ShortcutOption, sgd, top1Error } from '@resgrad/nn';

export interface ModelOptions {
  depth: number;
  plain: boolean;
  shortcut: ShortcutOption;
}

export const buildModel = (o: ModelOptions): Layer => resnetCifar({ depth: o.depth, plain: o.plain, shortcut: o.shortcut });

export interface TrainState {
  params: unknown;
  state: unknown;
  optState: unknown;
}

/**
 * One jitted SGD step: forward in training mode, cross-entropy, gradients, the optimizer
 * update, and the batch's training error. The learning rate is an input tensor, so a schedule
 * never retraces the step.
 */
export function makeTrainStep(net: Layer, opt: Optimizer<any>, labelSmoothing = 0) {
  const loss = (params: any, state: any, x: Tensor, y: Tensor) => {
    const [logits, newState] = net.apply(params, state, x, { train: true });
    return [crossEntropy(logits, y, { labelSmoothing }), { state: newState, logits }] as const;
  };
  return jit((s: TrainState, x: Tensor, y: Tensor, lr: Tensor) => {
    const [[l, aux], grads] = valueAndGrad(loss, { hasAux: true })(s.params, s.state, x, y);
    const [params, optState] = opt.update(grads, s.optState, s.params, { lr });
    return { next: { params, state: aux.state, optState } as TrainState, loss: l as Tensor, error: top1Error(aux.logits, y) };
  });
}

/** Inference in evaluation mode (running BatchNorm statistics), jitted. */
export function makeEvalStep(net: Layer) {
  return jit((params: any, state: any, x: Tensor) => net.apply(params, state, x, { train: false })[0]);
}

/** The paper's optimizer: SGD, momentum 0.9, weight decay (1e-4) as PyTorch applies it; Nesterov on request. */
export const paperOptimizer = (weightDecay: number, momentum = 0.9, nesterov = false) => sgd({ momentum, weightDecay, nesterov });

/** Frees the tensors of `old` that `next` no longer holds (a jitted step may pass some through). */
export function disposeReplaced(old: unknown, next: unknown): void {
  const keep = new Set(treeFlatten(next).leaves);
  for (const t of treeFlatten(old).leaves) if (!keep.has(t)) t.dispose();
}

/** Class scores for every image of a split, in batches. */
export function predict(
  evalStep: ReturnType<typeof makeEvalStep>,
  params: unknown,
  state: unknown,
  images: (start: number, end: number) => Float32Array,
  size: number,
  batchSize: number,
  backend?: Backend,
): Float32Array {
  const out = new Float32Array(size * 10);
  for (let start = 0; start < size; start += batchSize) {
    const end = Math.min(size, start + batchSize);
    const x = tensor(images(start, end), { shape: [end - start, 3, 32, 32], backend });
    const logits = evalStep(params, state, x);
    out.set(logits.data() as Float32Array, start * 10);
    logits.dispose();
    x.dispose();
  }
  return out;
}

/** Fraction of rows whose largest score is not the label. */
export function errorRate(scores: Float32Array, labels: ArrayLike<number>): number {
  let wrong = 0;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < 10; c++) if (scores[i * 10 + c]! > scores[i * 10 + best]!) best = c;
    if (best !== labels[i]) wrong++;
  }
  return wrong / labels.length;
}
