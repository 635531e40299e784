import { allocArray } from '../dtype.js';
import { check } from '../errors.js';
import * as P from '../ops/prim.js';
import { sizeOf, stridesOf } from '../shape.js';
import { checkArity, checkNumeric } from './common.js';
import type { PrimitiveDef, RefArray } from './types.js';

function checkAxes(op: string, axes: readonly number[], rank: number): void {
  check(
    axes.every((a, i) => Number.isInteger(a) && a >= 0 && a < rank && (i === 0 || a > axes[i - 1]!)),
    op,
    () => `axes must be sorted, unique and in [0, ${rank}), got [${axes.join(', ')}]`,
  );
}

function reduceShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

/** Folds every input element into the output element it reduces to, accumulating in float64. */
function reduceRef(x: RefArray, axes: readonly number[], init: number, f: (acc: number, v: number) => number, out: import('../graph.js').Aval) {
  const outShape = out.shape;
  const acc = new Float64Array(sizeOf(outShape)).fill(init);
  const outStrides = stridesOf(outShape);
  // stride of each input axis in the output (0 for reduced axes)
  const map: number[] = [];
  let k = 0;
  for (let i = 0; i < x.shape.length; i++) map.push(axes.includes(i) ? 0 : outStrides[k++]!);
  const idx = new Array<number>(x.shape.length).fill(0);
  let o = 0;
  for (let i = 0; i < x.data.length; i++) {
    acc[o] = f(acc[o]!, x.data[i]!);
    for (let d = x.shape.length - 1; d >= 0; d--) {
      o += map[d]!;
      if (++idx[d]! < x.shape[d]!) break;
      o -= map[d]! * idx[d]!;
      idx[d] = 0;
    }
  }
  const res = allocArray(out.dtype, acc.length);
  for (let i = 0; i < acc.length; i++) res[i] = out.dtype === 'int32' ? acc[i]! | 0 : acc[i]!;
  return res;
}

export const sum: PrimitiveDef<'sum'> = {
  kind: 'reduce',
  shape(inputs, p) {
    checkArity('sum', inputs, 1);
    checkNumeric('sum', inputs[0]!);
    checkAxes('sum', p.axes, inputs[0]!.shape.length);
    return { shape: reduceShape(inputs[0]!.shape, p.axes), dtype: inputs[0]!.dtype };
  },
  reference: ([x], p, out) => reduceRef(x!, p.axes, 0, (a, v) => a + v, out),
  // The cotangent is copied back along the reduced axes.
  vjp: (_i, ct, [x], _y, p) => P.broadcast(P.reshape(ct, P.keepDimsShape(x!.shape, p.axes)), x!.shape),
};

export const reduceMax: PrimitiveDef<'reduceMax'> = {
  kind: 'reduce',
  shape(inputs, p) {
    checkArity('reduceMax', inputs, 1);
    checkAxes('reduceMax', p.axes, inputs[0]!.shape.length);
    check(
      p.axes.every((a) => inputs[0]!.shape[a]! > 0),
      'reduceMax',
      () => `cannot take the max over an empty axis of shape [${inputs[0]!.shape.join(', ')}]`,
    );
    return { shape: reduceShape(inputs[0]!.shape, p.axes), dtype: inputs[0]!.dtype };
  },
  reference: ([x], p, out) => reduceRef(x!, p.axes, -Infinity, (a, v) => (v > a || Number.isNaN(v) ? v : a), out),
  // The cotangent is shared equally among the elements equal to the maximum.
  vjp: (_i, ct, [x], y, p) => {
    const keep = P.keepDimsShape(x!.shape, p.axes);
    const mask = P.cast(P.eq(x!, P.broadcast(P.reshape(y, keep), x!.shape)), ct.dtype);
    const count = P.broadcast(P.reshape(P.sum(mask, p.axes), keep), x!.shape);
    return P.div(P.mul(mask, P.broadcast(P.reshape(ct, keep), x!.shape)), count);
  },
};
