import { isFloat } from '../dtype.js';
import { check } from '../errors.js';
import { normalizeAxes, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { asTensor, div, square, sub } from './elementwise.js';
import * as P from './prim.js';

export interface ReduceOptions {
  /** Keep reduced axes as size 1 (default false). */
  keepDims?: boolean;
}

type Axes = number | readonly number[];

function finish(x: Tensor, axes: number[], r: Tensor, keepDims?: boolean): Tensor {
  return keepDims ? P.reshape(r, P.keepDimsShape(x.shape, axes)) : r;
}

/**
 * Sum over `axes` (all axes when omitted). Bool inputs are counted as int32.
 *
 * @example
 * ```ts
 * sum(tensor([[1, 2], [3, 4]]), 1).toArray(); // [3, 7]
 * ```
 */
export function sum(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  const t = asTensor('sum', x);
  const ax = normalizeAxes('sum', axes, t.rank);
  const src = t.dtype === 'bool' ? P.cast(t, 'int32') : t;
  return finish(t, ax, P.sum(src, ax), options.keepDims);
}

/** Arithmetic mean over `axes` (all when omitted); integer inputs give float32. */
export function mean(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  const t = asTensor('mean', x);
  const ax = normalizeAxes('mean', axes, t.rank);
  const n = sizeOf(ax.map((a) => t.shape[a]!));
  check(n > 0, 'mean', () => `mean over an empty set of elements (shape [${t.shape.join(', ')}])`);
  const f = isFloat(t.dtype) ? t : P.cast(t, 'float32');
  return div(sum(f, ax, options), n);
}

/** Variance over `axes` (population variance by default; `correction: 1` for the sample variance). */
export function variance(x: Tensor, axes?: Axes, options: ReduceOptions & { correction?: number } = {}): Tensor {
  const t = asTensor('variance', x);
  const ax = normalizeAxes('variance', axes, t.rank);
  const n = sizeOf(ax.map((a) => t.shape[a]!));
  const m = mean(t, ax, { keepDims: true });
  const ss = sum(square(sub(t, m)), ax, options);
  return div(ss, Math.max(n - (options.correction ?? 0), 0));
}

/** Maximum over `axes` (all when omitted). */
export function max(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  const t = asTensor('max', x);
  const ax = normalizeAxes('max', axes, t.rank);
  return finish(t, ax, P.reduceMax(t, ax), options.keepDims);
}

/** Minimum over `axes` (all when omitted). */
export function min(x: Tensor, axes?: Axes, options: ReduceOptions = {}): Tensor {
  const t = asTensor('min', x);
  const ax = normalizeAxes('min', axes, t.rank);
  const src = t.dtype === 'bool' ? P.cast(t, 'int32') : t;
  const r = P.neg(P.reduceMax(P.neg(src), ax));
  return finish(t, ax, t.dtype === 'bool' ? P.cast(r, 'bool') : r, options.keepDims);
}

/**
 * Index of the maximum along `axis` (the first one on ties), as int32.
 *
 * @example
 * ```ts
 * argmax(tensor([[1, 5, 2], [7, 0, 7]]), 1).toArray(); // [1, 0]
 * ```
 */
export function argmax(x: Tensor, axis: number, options: ReduceOptions = {}): Tensor {
  const t = asTensor('argmax', x);
  const [a] = normalizeAxes('argmax', axis, t.rank) as [number];
  const n = t.shape[a]!;
  check(n > 0, 'argmax', () => `argmax over an empty axis ${axis} of shape [${t.shape.join(', ')}]`);
  const m = P.broadcast(P.reshape(P.reduceMax(t, [a]), P.keepDimsShape(t.shape, [a])), t.shape);
  const idx = P.iota(t.shape, a, 'int32');
  // Among the positions equal to the max, the smallest index: -max(-index).
  const cand = P.where(P.eq(t, m), P.neg(idx), P.fullLike(idx, -n));
  const r = P.neg(P.reduceMax(cand, [a]));
  return options.keepDims ? P.reshape(r, P.keepDimsShape(t.shape, [a])) : r;
}

