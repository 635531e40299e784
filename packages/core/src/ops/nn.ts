import { isFloat } from '../dtype.js';
import { check, fail, fmtShape } from '../errors.js';
import { convOutSize } from '../primitives/library.js';
import type { ConvParams } from '../primitives/types.js';
import { broadcastShapes, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, asTensor, div, exp, log, maximum, mul, neg, resultType, sub } from './elementwise.js';
import { reshape } from './movement.js';
import * as P from './prim.js';
import { max, mean, sum } from './reduce.js';

/**
 * Matrix product with NumPy semantics: 1-d operands are vectors, leading (batch) dims broadcast.
 *
 * @example
 * ```ts
 * matmul(tensor([[1, 2]]), tensor([[3], [4]])).toArray(); // [[11]]
 * ```
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  let x = asTensor('matmul', a);
  let y = asTensor('matmul', b);
  check(x.rank >= 1 && y.rank >= 1, 'matmul', () => `operands must have rank >= 1, got ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`);
  const dt = resultType([x, y]);
  check(dt !== 'bool', 'matmul', () => 'bool operands are not supported; cast them first');
  const vecA = x.rank === 1;
  const vecB = y.rank === 1;
  if (vecA) x = P.reshape(x, [1, x.shape[0]!]);
  if (vecB) y = P.reshape(y, [y.shape[0]!, 1]);
  const K = x.shape[x.rank - 1]!;
  if (K !== y.shape[y.rank - 2])
    fail('matmul', `inner dimensions differ: ${fmtShape(a.shape)} x ${fmtShape(b.shape)} (${K} vs ${y.shape[y.rank - 2]})`);
  const [bx, by] = [x.shape.slice(0, -2), y.shape.slice(0, -2)];
  const compatible = bx.every((d, i) => {
    const e = by[by.length - bx.length + i];
    return e === undefined || d === e || d === 1 || e === 1;
  });
  if (!compatible)
    fail('matmul', `batch dimensions ${fmtShape(bx)} and ${fmtShape(by)} of ${fmtShape(a.shape)} x ${fmtShape(b.shape)} cannot be broadcast together`);
  const batch = broadcastShapes('matmul', bx, by);
  x = P.broadcast(P.cast(x, dt), [...batch, ...x.shape.slice(-2)]);
  y = P.broadcast(P.cast(y, dt), [...batch, ...y.shape.slice(-2)]);
  let out = P.dot(x, y);
  if (vecA || vecB) {
    const s = [...batch];
    if (!vecA) s.push(out.shape[out.rank - 2]!);
    if (!vecB) s.push(out.shape[out.rank - 1]!);
    out = P.reshape(out, s);
  }
  return out;
}

/** log(sum(exp(x))) over `axis`, computed stably. */
export function logSumExp(x: Tensor, axis = -1, keepDims = false): Tensor {
  const t = asTensor('logSumExp', x);
  const a = normalizeAxis('logSumExp', axis, t.rank);
  const m = P.stopGradient(max(t, a, { keepDims: true }));
  const r = add(log(sum(exp(sub(t, m)), a, { keepDims: true })), m);
  return keepDims ? r : reshape(r, t.shape.filter((_, i) => i !== a));
}

/** log(softmax(x)) along `axis` (default last), computed stably. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const t = asTensor('logSoftmax', x);
  normalizeAxis('logSoftmax', axis, t.rank);
  return sub(t, logSumExp(t, axis, true));
}

/** exp(x) / sum(exp(x)) along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  const t = asTensor('softmax', x);
  const a = normalizeAxis('softmax', axis, t.rank);
  const e = exp(sub(t, P.stopGradient(max(t, a, { keepDims: true }))));
  return div(e, sum(e, a, { keepDims: true }));
}

/**
 * One-hot encoding of integer labels: shape `[...labels.shape, numClasses]`.
 *
 * @example
 * ```ts
 * oneHot(tensor([0, 2], { dtype: 'int32' }), 3).toArray(); // [[1, 0, 0], [0, 0, 1]]
 * ```
 */
export function oneHot(labels: Tensor, numClasses: number, dtype: 'float32' | 'float64' | 'int32' = 'float32'): Tensor {
  const l = asTensor('oneHot', labels);
  check(l.dtype === 'int32', 'oneHot', () => `labels must be int32, got ${l.dtype}${fmtShape(l.shape)}`);
  check(Number.isInteger(numClasses) && numClasses > 0, 'oneHot', () => `numClasses must be a positive integer, got ${numClasses}`);
  const shape = [...l.shape, numClasses];
  const cls = P.iota(shape, l.rank, 'int32');
  return P.cast(P.eq(cls, P.broadcast(P.reshape(l, [...l.shape, 1]), shape)), dtype);
}

export interface CrossEntropyOptions {
  /** 'mean' (default) over the batch, 'sum', or 'none' (one loss per example). */
  reduction?: 'mean' | 'sum' | 'none';
  /** Mixes the targets with the uniform distribution: (1 - s) * target + s / classes. */
  labelSmoothing?: number;
}

/**
 * Softmax cross-entropy between `logits` [..., C] and targets: int32 class indices [...]
 * or probabilities of the logits' shape.
 *
 * @example
 * ```ts
 * crossEntropy(zeros([2, 10]), tensor([3, 7], { dtype: 'int32' })).item(); // ln 10 = 2.3026
 * ```
 */
export function crossEntropy(logits: Tensor, targets: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const z = asTensor('crossEntropy', logits);
  const y = asTensor('crossEntropy', targets);
  check(isFloat(z.dtype) && z.rank >= 1, 'crossEntropy', () => `logits must be float with a class axis, got ${z.dtype}${fmtShape(z.shape)}`);
  const C = z.shape[z.rank - 1]!;
  let probs: Tensor;
  if (y.dtype === 'int32') {
    check(fmtShape(y.shape) === fmtShape(z.shape.slice(0, -1)), 'crossEntropy', () =>
      `class-index targets must have shape ${fmtShape(z.shape.slice(0, -1))} for logits ${fmtShape(z.shape)}, got ${fmtShape(y.shape)}`,
    );
    probs = oneHot(y, C, z.dtype as 'float32' | 'float64');
  } else {
    check(fmtShape(y.shape) === fmtShape(z.shape), 'crossEntropy', () =>
      `probability targets must have the logits' shape ${fmtShape(z.shape)}, got ${y.dtype}${fmtShape(y.shape)}`,
    );
    probs = P.cast(y, z.dtype);
  }
  const s = options.labelSmoothing ?? 0;
  check(s >= 0 && s <= 1, 'crossEntropy', () => `labelSmoothing must be in [0, 1], got ${s}`);
  if (s > 0) probs = add(mul(probs, 1 - s), s / C);
  const losses = neg(sum(mul(probs, logSoftmax(z, -1)), -1));
  const reduction = options.reduction ?? 'mean';
  if (reduction === 'none') return losses;
  if (reduction === 'sum') return sum(losses);
  if (reduction === 'mean') return mean(losses);
  return fail('crossEntropy', `reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
}

type Pair = number | readonly [number, number];
type Padding2d = number | 'same' | 'valid' | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];

export interface Conv2dOptions {
  stride?: Pair;
  /** A number or [h, w] for symmetric padding, [[top, bottom], [left, right]], 'valid' (0) or 'same' (output ceil(input / stride)). */
  padding?: Padding2d;
  dilation?: Pair;
  groups?: number;
}

function pair(op: string, name: string, v: Pair | undefined, dflt: number): [number, number] {
  const p: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  check(p.length === 2 && p.every((x) => Number.isInteger(x) && x >= 1), op, () => `${name} must be a positive integer or a pair of them, got ${JSON.stringify(v)}`);
  return p;
}

function resolvePadding(
  op: string,
  padding: Padding2d | undefined,
  input: readonly number[],
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): [[number, number], [number, number]] {
  if (padding === undefined || padding === 'valid') return [[0, 0], [0, 0]];
  if (padding === 'same') {
    return [0, 1].map((i) => {
      const n = input[i]!;
      const out = Math.ceil(n / stride[i]!);
      const total = Math.max((out - 1) * stride[i]! + dilation[i]! * (kernel[i]! - 1) + 1 - n, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    }) as [[number, number], [number, number]];
  }
  const nat = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  if (typeof padding === 'number' && nat(padding)) return [[padding, padding], [padding, padding]];
  if (Array.isArray(padding) && padding.length === 2) {
    if (padding.every(nat)) return [[padding[0], padding[0]], [padding[1], padding[1]]] as [[number, number], [number, number]];
    if (padding.every((q) => Array.isArray(q) && q.length === 2 && q.every(nat)))
      return [[padding[0][0], padding[0][1]], [padding[1][0], padding[1][1]]] as [[number, number], [number, number]];
  }
  return fail(op, `padding must be a non-negative integer, [h, w], [[top, bottom], [left, right]], 'same' or 'valid', got ${JSON.stringify(padding)}`);
}

/**
 * 2-d convolution (cross-correlation, as in every framework) of NCHW input by OIHW weights.
 *
 * @example
 * ```ts
 * const y = conv2d(ones([1, 3, 8, 8]), ones([16, 3, 3, 3]), { stride: 2, padding: 1 });
 * y.shape; // [1, 16, 4, 4]
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  const xt = asTensor('conv2d', x);
  const wt = asTensor('conv2d', w);
  check(xt.rank === 4, 'conv2d', () => `expected input of rank 4 (NCHW), got shape ${fmtShape(xt.shape)}`);
  check(wt.rank === 4, 'conv2d', () => `expected weights of rank 4 (OIHW), got shape ${fmtShape(wt.shape)}`);
  const dt = resultType([xt, wt]);
  check(isFloat(dt), 'conv2d', () => `expected float operands, got ${xt.dtype} and ${wt.dtype}`);
  const stride = pair('conv2d', 'stride', options.stride, 1);
  const dilation = pair('conv2d', 'dilation', options.dilation, 1);
  const groups = options.groups ?? 1;
  check(Number.isInteger(groups) && groups >= 1, 'conv2d', () => `groups must be a positive integer, got ${groups}`);
  const padding = resolvePadding('conv2d', options.padding, xt.shape.slice(2), [wt.shape[2]!, wt.shape[3]!], stride, dilation);
  const p: ConvParams = { stride, padding, dilation, groups };
  return P.conv2d(P.cast(xt, dt), P.cast(wt, dt), p);
}

export interface Pool2dOptions {
  /** Window size (default: 2). */
  kernel?: Pair;
  /** Window step (default: the window size). */
  stride?: Pair;
  /** Padding as for conv2d: max pooling pads with -inf, average pooling with zeros (counted). */
  padding?: Padding2d;
}

/**
 * Combines every window position's strided slice of the padded input with `combine`: pooling
 * written as movement and elementwise ops, which the scheduler fuses into one kernel.
 */
function pool(op: string, x: Tensor, options: Pool2dOptions, fill: number, combine: (a: Tensor, b: Tensor) => Tensor) {
  const t = asTensor(op, x);
  check(t.rank === 4, op, () => `expected input of rank 4 (NCHW), got shape ${fmtShape(t.shape)}`);
  check(isFloat(t.dtype), op, () => `expected a float input, got ${t.dtype}`);
  const k = pair(op, 'kernel', options.kernel, 2);
  const s = pair(op, 'stride', options.stride ?? k, 1);
  const pd = resolvePadding(op, options.padding, t.shape.slice(2), k, s, [1, 1]);
  const [N, C, H, W] = t.shape as [number, number, number, number];
  const OH = convOutSize(H, k[0], s[0], pd[0][0], pd[0][1], 1);
  const OW = convOutSize(W, k[1], s[1], pd[1][0], pd[1][1], 1);
  check(OH >= 1 && OW >= 1, op, () => `window ${k[0]}x${k[1]} does not fit input ${fmtShape(t.shape)} with padding ${JSON.stringify(pd)}`);
  const padded = P.pad(t, [0, 0, pd[0][0], pd[1][0]], [0, 0, pd[0][1], pd[1][1]], [0, 0, 0, 0], fill);
  let acc: Tensor | undefined;
  for (let i = 0; i < k[0]; i++)
    for (let j = 0; j < k[1]; j++) {
      const win = P.slice(padded, [0, 0, i, j], [N, C, i + (OH - 1) * s[0] + 1, j + (OW - 1) * s[1] + 1], [1, 1, s[0], s[1]]);
      acc = acc ? combine(acc, win) : win;
    }
  return { out: acc!, count: k[0] * k[1] };
}

/** Max pooling over NCHW input. */
export function maxPool2d(x: Tensor, options: Pool2dOptions = {}): Tensor {
  return pool('maxPool2d', x, options, -Infinity, maximum).out;
}

/** Average pooling over NCHW input; padded zeros count in the average (PyTorch's default). */
export function avgPool2d(x: Tensor, options: Pool2dOptions = {}): Tensor {
  const { out, count } = pool('avgPool2d', x, options, 0, add);
  return div(out, count);
}

/** Mean over the spatial axes: [N, C, H, W] -> [N, C]. */
export function globalAvgPool(x: Tensor): Tensor {
  const t = asTensor('globalAvgPool', x);
  check(t.rank === 4, 'globalAvgPool', () => `expected input of rank 4 (NCHW), got shape ${fmtShape(t.shape)}`);
  return mean(t, [2, 3]);
}

