// Thin typed wrappers that apply one primitive each. VJP rules and library ops are written
// with these, so everything they build can be traced and differentiated again.
import { defaultBackend } from '../backend/registry.js';
import { coerceScalar, type DType, allocArray } from '../dtype.js';
import type { ConvParams } from '../primitives/types.js';
import { fromHost, type Tensor } from '../tensor.js';
import { bind } from '../trace.js';

type T = Tensor;
type Shape = readonly number[];

export const neg = (x: T) => bind('neg', [x], {});
export const exp = (x: T) => bind('exp', [x], {});
export const log = (x: T) => bind('log', [x], {});
export const sqrt = (x: T) => bind('sqrt', [x], {});
export const rsqrt = (x: T) => bind('rsqrt', [x], {});
export const recip = (x: T) => bind('recip', [x], {});
export const sin = (x: T) => bind('sin', [x], {});
export const cos = (x: T) => bind('cos', [x], {});
export const tanh = (x: T) => bind('tanh', [x], {});
export const abs = (x: T) => bind('abs', [x], {});
export const sign = (x: T) => bind('sign', [x], {});
export const cast = (x: T, dtype: DType) => (x.dtype === dtype ? x : bind('cast', [x], { dtype }));
export const stopGradient = (x: T) => bind('stopGradient', [x], {});
export const bitsToFloat = (x: T, dtype: 'float32' | 'float64') => bind('bitsToFloat', [x], { dtype });

export const add = (a: T, b: T) => bind('add', [a, b], {});
export const sub = (a: T, b: T) => bind('sub', [a, b], {});
export const mul = (a: T, b: T) => bind('mul', [a, b], {});
export const div = (a: T, b: T) => bind('div', [a, b], {});
export const max = (a: T, b: T) => bind('max', [a, b], {});
export const min = (a: T, b: T) => bind('min', [a, b], {});
export const pow = (a: T, b: T) => bind('pow', [a, b], {});
export const eq = (a: T, b: T) => bind('eq', [a, b], {});
export const ne = (a: T, b: T) => bind('ne', [a, b], {});
export const lt = (a: T, b: T) => bind('lt', [a, b], {});
export const le = (a: T, b: T) => bind('le', [a, b], {});
export const gt = (a: T, b: T) => bind('gt', [a, b], {});
export const ge = (a: T, b: T) => bind('ge', [a, b], {});
export const where = (c: T, a: T, b: T) => bind('where', [c, a, b], {});

export const sum = (x: T, axes: readonly number[]) => (axes.length === 0 ? x : bind('sum', [x], { axes }));
export const reduceMax = (x: T, axes: readonly number[]) => (axes.length === 0 ? x : bind('reduceMax', [x], { axes }));

export const reshape = (x: T, shape: Shape) =>
  x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i]) ? x : bind('reshape', [x], { shape });
export const broadcast = (x: T, shape: Shape) =>
  x.shape.length === shape.length && x.shape.every((d, i) => d === shape[i]) ? x : bind('broadcast', [x], { shape });
export const transpose = (x: T, perm: readonly number[]) =>
  perm.every((p, i) => p === i) ? x : bind('transpose', [x], { perm });
export const slice = (x: T, start: Shape, end: Shape, step: Shape = start.map(() => 1)) =>
  bind('slice', [x], { start, end, step });
export const pad = (x: T, lo: Shape, hi: Shape, interior: Shape = lo.map(() => 0), value = 0) =>
  bind('pad', [x], { lo, hi, interior, value });
export const concat = (xs: readonly T[], axis: number) => (xs.length === 1 ? xs[0]! : bind('concat', xs, { axis }));

export const dot = (a: T, b: T) => bind('dot', [a, b], {});
export const conv2d = (x: T, w: T, p: ConvParams) => bind('conv2d', [x, w], p);
export const conv2dInputGrad = (dy: T, w: T, p: ConvParams, inputShape: Shape) =>
  bind('conv2dInputGrad', [dy, w], { ...p, inputShape });
export const conv2dWeightGrad = (x: T, dy: T, p: ConvParams, weightShape: Shape) =>
  bind('conv2dWeightGrad', [x, dy], { ...p, weightShape });

export const iota = (shape: Shape, axis: number, dtype: DType) => bind('iota', [], { shape, axis, dtype });
export const randomBits = (key: T, shape: Shape, stream: number) => bind('randomBits', [key], { shape, stream });

/**
 * A 0-d tensor holding `value`, on the backend of `like` when it is concrete (so eager
 * ops find their operands together), else on the default backend.
 */
export function scalar(value: number, dtype: DType, like?: T): T {
  const backend = like && !like.isTracer && like._owned ? like._owned.backend : defaultBackend();
  const data = allocArray(dtype, 1);
  data[0] = coerceScalar(value, dtype);
  return fromHost(backend, data, [], dtype);
}

/** A tensor of `x`'s shape (or `shape`) filled with `value`, in `x`'s dtype unless given. */
export function fullLike(x: T, value: number, dtype: DType = x.dtype, shape: Shape = x.shape): T {
  return broadcast(scalar(value, dtype, x), shape);
}

/** Reduced axes kept as size 1, so the result broadcasts against the input. */
export function keepDimsShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

export const swapLastTwo = (x: T) => {
  const r = x.shape.length;
  const perm = x.shape.map((_, i) => i);
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return transpose(x, perm);
};
