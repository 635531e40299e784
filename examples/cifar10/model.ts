// The training step, evaluation and model options shared by the CIFAR-10 scripts.
import { type Backend, jit, tensor, type Tensor, treeFlatten } from '@resgrad/core';
import { type Layer, resnetCifar, type ShortcutOption, sgd } from '@resgrad/nn';

export interface ModelOptions {
  depth: number;
  plain: boolean;
  shortcut: ShortcutOption;
}

export const buildModel = (o: ModelOptions): Layer => resnetCifar({ depth: o.depth, plain: o.plain, shortcut: o.shortcut });

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

/** Class scores for every image of a split, in batches (read back asynchronously, so any backend serves). */
export async function predict(
  evalStep: ReturnType<typeof makeEvalStep>,
  params: unknown,
  state: unknown,
  images: (start: number, end: number) => Float32Array,
  size: number,
  batchSize: number,
  backend?: Backend,
): Promise<Float32Array> {
  const out = new Float32Array(size * 10);
  for (let start = 0; start < size; start += batchSize) {
    const end = Math.min(size, start + batchSize);
    const x = tensor(images(start, end), { shape: [end - start, 3, 32, 32], backend });
    const logits = evalStep(params, state, x);
    out.set((await logits.dataAsync()) as Float32Array, start * 10);
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
