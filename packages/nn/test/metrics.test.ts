// Top-k error and cross-entropy (with label smoothing) against direct computations.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { crossEntropy, tensor } from '@resgrad/core';
import { top1Error, top5Error, topKError } from '@resgrad/nn';
import { rng, seedArb } from './helpers.js';

/** Logits [N, C] from a seed: small integers (many ties) or continuous values. */
function makeLogits(n: number, c: number, seed: number, ties: boolean): number[][] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: c }, () => (ties ? Math.floor(r() * 4) : r() * 10 - 5)));
}
const makeLabels = (n: number, c: number, seed: number) => {
  const r = rng(seed ^ 0x5bd1e995);
  return Array.from({ length: n }, () => Math.floor(r() * c));
};

/** The error as the fraction of rows whose true class has k or more strictly larger logits. */
function topKRef(logits: number[][], labels: number[], k: number): number {
  let wrong = 0;
  logits.forEach((row, i) => {
    const t = row[labels[i]!]!;
    const above = row.filter((v) => v > t).length;
    if (above >= k) wrong++;
  });
  return wrong / logits.length;
}

/** Without ties: the true class is not among the k largest after sorting. */
function topKBySort(logits: number[][], labels: number[], k: number): number {
  let wrong = 0;
  logits.forEach((row, i) => {
    const order = row.map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).map(([, j]) => j);
    if (!order.slice(0, k).includes(labels[i]!)) wrong++;
  });
  return wrong / logits.length;
}

const dims = fc.record({ n: fc.integer({ min: 1, max: 12 }), c: fc.integer({ min: 1, max: 12 }) });

describe('top-k error', () => {
  test.prop([dims, fc.integer({ min: 1, max: 14 }), fc.boolean(), seedArb])('topKError equals the direct count, ties in the example\'s favour', ({ n, c }, k, ties, seed) => {
    const logits = makeLogits(n, c, seed, ties);
    const labels = makeLabels(n, c, seed);
    const z = tensor(logits);
    const y = tensor(labels, { dtype: 'int32' });
    const want = topKRef(logits, labels, k);
    expect(topKError(z, y, k).item()).toBeCloseTo(want, 6);
    if (!ties) expect(want).toBe(topKBySort(logits, labels, k));
  });

  test.prop([dims, seedArb])('top1Error and top5Error are topKError with k = 1 and 5; float64 logits work too', ({ n, c }, seed) => {
    const logits = makeLogits(n, c, seed, false);
    const labels = makeLabels(n, c, seed);
    const y = tensor(labels, { dtype: 'int32' });
    expect(top1Error(tensor(logits), y).item()).toBeCloseTo(topKBySort(logits, labels, 1), 6);
    expect(top5Error(tensor(logits), y).item()).toBeCloseTo(topKBySort(logits, labels, 5), 6);
    expect(top1Error(tensor(logits, { dtype: 'float64' }), y).item()).toBeCloseTo(topKBySort(logits, labels, 1), 6);
  });

  it('worked examples', () => {
    const z = tensor([[1, 3, 2], [0, 0, 5], [2, 2, 2]]);
    const y = tensor([2, 2, 0], { dtype: 'int32' });
    // Row 0: class 2 is second; row 1: first; row 2: all tied, counted as right.
    expect(top1Error(z, y).item()).toBeCloseTo(1 / 3, 6);
    expect(topKError(z, y, 2).item()).toBe(0);
    expect(top5Error(z, y).item()).toBe(0);
  });

  it('rejects bad shapes and label dtypes with a message naming both', () => {
    const z = tensor([[1, 2], [3, 4]]);
    expect(() => topKError(z, tensor([0, 1]), 1)).toThrow(/topKError: expected logits \[N, C\] and int32 labels \[N\], got \[2, 2\] and float32\[2\]/);
    expect(() => topKError(z, tensor([0], { dtype: 'int32' }), 1)).toThrow(/got \[2, 2\] and int32\[1\]/);
    expect(() => topKError(tensor([1, 2]), tensor([0], { dtype: 'int32' }), 1)).toThrow(/topKError/);
  });
});

/** Cross-entropy with label smoothing, directly: q = (1 - s) onehot + s / C, loss = -sum q log softmax(z). */
function ceRef(logits: number[][], labels: number[], s: number): number[] {
  return logits.map((row, i) => {
    const C = row.length;
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((acc, v) => acc + Math.exp(v - m), 0));
    return -row.reduce((acc, v, j) => acc + ((j === labels[i] ? 1 - s : 0) + s / C) * (v - lse), 0);
  });
}

describe('crossEntropy with label smoothing', () => {
  test.prop([dims, fc.double({ min: 0, max: 1, noNaN: true }), seedArb])('mean, sum and none against the direct formula (float64)', ({ n, c }, s, seed) => {
    const logits = makeLogits(n, c, seed, false);
    const labels = makeLabels(n, c, seed);
    const z = tensor(logits, { dtype: 'float64' });
    const y = tensor(labels, { dtype: 'int32' });
    const want = ceRef(logits, labels, s);
    const none = Array.from(crossEntropy(z, y, { labelSmoothing: s, reduction: 'none' }).data());
    none.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
    const total = want.reduce((a, b) => a + b, 0);
    expect(crossEntropy(z, y, { labelSmoothing: s, reduction: 'sum' }).item()).toBeCloseTo(total, 11);
    expect(crossEntropy(z, y, { labelSmoothing: s }).item()).toBeCloseTo(total / n, 12);
  });

  it('labelSmoothing 0 is the plain cross-entropy; a known value', () => {
    const z = tensor([[0, 0, 0, 0]], { dtype: 'float64' });
    const y = tensor([1], { dtype: 'int32' });
    expect(crossEntropy(z, y).item()).toBeCloseTo(Math.log(4), 14);
    expect(crossEntropy(z, y, { labelSmoothing: 0.3 }).item()).toBeCloseTo(Math.log(4), 14);
    // logits [2, 0], label 0, s = 0.2: q = [0.9, 0.1].
    const lse = Math.log(Math.exp(2) + 1);
    const want = -(0.9 * (2 - lse) + 0.1 * (0 - lse));
    expect(crossEntropy(tensor([[2, 0]], { dtype: 'float64' }), tensor([0], { dtype: 'int32' }), { labelSmoothing: 0.2 }).item()).toBeCloseTo(want, 14);
  });

  it('rejects a smoothing outside [0, 1]', () => {
    const z = tensor([[1, 2]]);
    const y = tensor([0], { dtype: 'int32' });
    expect(() => crossEntropy(z, y, { labelSmoothing: 1.5 })).toThrow(/crossEntropy: labelSmoothing must be in \[0, 1\], got 1.5/);
    expect(() => crossEntropy(z, y, { labelSmoothing: -0.1 })).toThrow(/labelSmoothing/);
  });
});
