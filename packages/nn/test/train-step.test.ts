// trainStep against a hand-written step of a linear classifier in plain JS (float64):
// softmax cross-entropy, its gradient (softmax - target)^T x / N, plain SGD.
import { describe, expect, it } from 'vitest';
import { sum, tensor, type Tensor } from '@resgrad/core';
import { linear, sgd, type TrainState, trainStep } from '../src/index.js';
import { randArray } from './helpers.js';

const N = 6, IN = 4, C = 3;

/** Loss, error and the SGD-updated weight and bias of the linear model, by hand. */
function byHand(W: Float64Array, b: Float64Array, x: Float64Array, y: number[], lr: number, smoothing: number) {
  let loss = 0, wrong = 0;
  const gW = new Float64Array(C * IN), gb = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    const z = Array.from({ length: C }, (_, c) => b[c]! + Array.from({ length: IN }, (_, i) => W[c * IN + i]! * x[n * IN + i]!).reduce((s, v) => s + v, 0));
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    const target = z.map((_, c) => (c === y[n] ? 1 - smoothing : 0) + smoothing / C);
    loss += -target.reduce((s, t, c) => s + t * (z[c]! - lse), 0) / N;
    if (z.some((v, c) => c !== y[n] && v > z[y[n]!]!)) wrong++;
    for (let c = 0; c < C; c++) {
      const d = (Math.exp(z[c]! - lse) - target[c]!) / N;
      gb[c]! += d;
      for (let i = 0; i < IN; i++) gW[c * IN + i]! += d * x[n * IN + i]!;
    }
  }
  return { loss, error: wrong / N, W: W.map((v, k) => v - lr * gW[k]!), b: b.map((v, k) => v - lr * gb[k]!) };
}

describe('trainStep', () => {
  const net = linear(C);
  const W = randArray(C * IN, 1), b = randArray(C, 2), xs = randArray(N * IN, 3);
  const labels = [0, 1, 2, 2, 1, 0];
  const start = (): TrainState => ({
    params: { weight: tensor(W, { shape: [C, IN], dtype: 'float64' }), bias: tensor(b, { dtype: 'float64' }) },
    state: {},
    optState: sgd().init({}),
  });
  const x = tensor(xs, { shape: [N, IN], dtype: 'float64' });
  const y = tensor(labels, { dtype: 'int32' });
  const close = (t: Tensor, want: ArrayLike<number>) => Array.from(t.data()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));

  it('gives the loss, the error and the SGD update of a hand-written step, with lr as an input', () => {
    const want = byHand(W, b, xs, labels, 0.3, 0);
    const out = trainStep(net, sgd())(start(), x, y, tensor(0.3, { dtype: 'float64' }));
    expect(out.loss.item()).toBeCloseTo(want.loss, 12);
    expect(out.error.item()).toBeCloseTo(want.error, 6);
    close(out.next.params.weight as Tensor, want.W);
    close(out.next.params.bias as Tensor, want.b);
  });

  it("uses the optimizer's own learning rate without one, and label smoothing when asked", () => {
    const want = byHand(W, b, xs, labels, 0.05, 0.2);
    const out = trainStep(net, sgd({ lr: 0.05 }), { labelSmoothing: 0.2 })(start(), x, y);
    expect(out.loss.item()).toBeCloseTo(want.loss, 12);
    close(out.next.params.weight as Tensor, want.W);
  });

  it('takes a custom loss', () => {
    const out = trainStep(net, sgd({ lr: 0.1 }), { loss: (logits) => sum(logits) })(start(), x, y);
    // d/dW of sum(x W^T + b) is the column sums of x for every output row.
    const colSums = Array.from({ length: IN }, (_, i) => Array.from({ length: N }, (_, n) => xs[n * IN + i]!).reduce((s, v) => s + v, 0));
    close(out.next.params.weight as Tensor, Array.from(W, (v, k) => v - 0.1 * colSums[k % IN]!));
  });
});
