// The jitted ResNet-20 training step the GPU check times (forward, backward, momentum SGD with
// weight decay), its fixed batch, and freeing a state the next step no longer needs.
import { crossEntropy, jit, random, tensor, type Tensor, treeFlatten, valueAndGrad } from '@resgrad/core';
import { resnetCifar, sgd } from '@resgrad/nn';

/** A training state: parameters, BatchNorm statistics, optimiser state. */
export interface StepState {
  readonly params: unknown;
  readonly state: unknown;
  readonly optState: unknown;
}

/** What a step returns: the next state and the loss. */
export type StepOut = StepState & { readonly loss: Tensor };

/** The network, a fresh jitted step (a new executable on its first call), the batch and the initial state. */
export function resnet20Step(batch: number) {
  const net = resnetCifar({ depth: 20 });
  const init = net.init(random.key(0), [batch, 3, 32, 32]);
  const opt = sgd({ momentum: 0.9, weightDecay: 1e-4 });
  const lossFn = (params: unknown, state: unknown, x: Tensor, y: Tensor) => {
    const [logits, newState] = net.apply(params as never, state as never, x, { train: true });
    return [crossEntropy(logits, y), newState] as const;
  };
  const makeStep = () =>
    jit((params: unknown, state: unknown, os: unknown, x: Tensor, y: Tensor, lr: Tensor): StepOut => {
      const [[l, newState], grads] = valueAndGrad(lossFn, { hasAux: true })(params, state, x, y);
      const [np, no] = opt.update(grads as never, os as never, params as never, { lr });
      return { params: np, state: newState, optState: no, loss: l as Tensor };
    });
  const xs = new Float32Array(batch * 3 * 32 * 32).map((_, i) => Math.sin(i) * 0.5);
  const ys = Int32Array.from({ length: batch }, (_, i) => i % 10);
  const x = tensor(xs, { shape: [batch, 3, 32, 32] });
  const y = tensor(ys, { shape: [batch] });
  const lr = tensor(new Float32Array([0.1]), { shape: [] });
  const initial = (): StepState => ({ params: init.params, state: init.state, optState: opt.init(init.params) });
  return { makeStep, x, y, lr, initial };
}

/** Frees the tensors of `old` that `next` does not hold (a step may pass an input through). */
export function disposeStale(old: StepState, next: StepState): void {
  const keep = new Set(treeFlatten([next.params, next.state, next.optState]).leaves);
  for (const t of treeFlatten([old.params, old.state, old.optState]).leaves) if (!keep.has(t)) t.dispose();
}
