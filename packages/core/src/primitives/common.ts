import { allocArray, type DType, isFloat, type TypedArray } from '../dtype.js';
import { check, fail, fmtShape } from '../errors.js';
import type { Aval } from '../graph.js';
import { shapesEqual, sizeOf } from '../shape.js';
import type { RefArray } from './types.js';

export function checkArity(op: string, inputs: readonly Aval[], n: number): void {
  check(inputs.length === n, op, () => `expected ${n} operand(s), got ${inputs.length}`);
}

export function checkFloat(op: string, a: Aval): void {
  check(isFloat(a.dtype), op, () => `expected a float32 or float64 operand, got ${a.dtype}${fmtShape(a.shape)}`);
}

export function checkNumeric(op: string, a: Aval): void {
  check(a.dtype !== 'bool', op, () => `expected a numeric operand, got bool${fmtShape(a.shape)}; cast it first`);
}

/** Binary primitives take operands of one shape and dtype (the library broadcasts and promotes). */
export function checkSame(op: string, a: Aval, b: Aval): void {
  if (!shapesEqual(a.shape, b.shape) || a.dtype !== b.dtype)
    fail(op, `operands must have one shape and dtype, got ${a.dtype}${fmtShape(a.shape)} and ${b.dtype}${fmtShape(b.shape)}`);
}

/** Applies `f` to each element, storing into an array of `dtype` (which rounds or truncates). */
export function mapRef(x: RefArray, dtype: DType, f: (v: number) => number): TypedArray {
  const out = allocArray(dtype, x.data.length);
  const d = x.data;
  for (let i = 0; i < d.length; i++) out[i] = f(d[i]!);
  return out;
}

export function zipRef(a: RefArray, b: RefArray, dtype: DType, f: (x: number, y: number) => number): TypedArray {
  const out = allocArray(dtype, a.data.length);
  const da = a.data;
  const db = b.data;
  for (let i = 0; i < da.length; i++) out[i] = f(da[i]!, db[i]!);
  return out;
}

/**
 * Builds an output array by reading, for each output multi-index, the flat input index
 * that `source` returns (-1 yields `fill`).
 */
export function gatherRef(
  input: RefArray,
  outShape: readonly number[],
  dtype: DType,
  source: (idx: readonly number[]) => number,
  fill = 0,
): TypedArray {
  const out = allocArray(dtype, sizeOf(outShape));
  const idx = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < out.length; i++) {
    const s = source(idx);
    out[i] = s < 0 ? fill : input.data[s]!;
    for (let k = outShape.length - 1; k >= 0; k--) {
      if (++idx[k]! < outShape[k]!) break;
      idx[k] = 0;
    }
  }
  return out;
}

export function flatIndex(idx: readonly number[], strides: readonly number[]): number {
  let f = 0;
  for (let k = 0; k < idx.length; k++) f += idx[k]! * strides[k]!;
  return f;
}


/** C-style int32 results: wrap to 32 bits, division by zero gives 0. */
export const toInt32 = (v: number) => (Number.isFinite(v) ? v | 0 : 0);
