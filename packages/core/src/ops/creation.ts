import type { Backend } from '../backend/interface.js';
import { defaultBackend, getBackend } from '../backend/registry.js';
import { allocArray, coerceScalar, type DType, dtypeOfArray, isDType, type TypedArray } from '../dtype.js';
import { check, fail, fmtShape } from '../errors.js';
import { checkShape, sizeOf } from '../shape.js';
import { fromHost, type NestedArray, Tensor } from '../tensor.js';
import { isTracing } from '../trace.js';
import * as P from './prim.js';

/** Where a new tensor goes: `backend` is a backend name or object; default: the default backend. */
export interface CreationOptions {
  dtype?: DType;
  backend?: string | Backend;
}

function resolveBackend(b: string | Backend | undefined): Backend {
  if (b === undefined) return defaultBackend();
  return typeof b === 'string' ? getBackend(b) : b;
}

function checkDType(op: string, dtype: unknown): DType {
  if (!isDType(dtype)) fail(op, `unknown dtype '${String(dtype)}' (expected float32, float64, int32 or bool)`);
  return dtype;
}

function inferShape(op: string, x: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function flattenNested(op: string, x: NestedArray, shape: readonly number[], out: TypedArray, dtype: DType): void {
  let pos = 0;
  const rec = (v: NestedArray, dim: number, path: string): void => {
    if (dim === shape.length) {
      if (typeof v !== 'number' && typeof v !== 'boolean')
        fail(op, `expected a number at ${path || 'the top level'}, got ${Array.isArray(v) ? 'an array' : typeof v}`);
      out[pos++] = coerceScalar(v, dtype);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim])
      fail(op, `ragged nested array: expected length ${shape[dim]} at ${path || 'the top level'}, got ${Array.isArray(v) ? v.length : typeof v}`);
    v.forEach((e, i) => rec(e, dim + 1, `${path}[${i}]`));
  };
  rec(x, 0, '');
}

/**
 * Makes a tensor from a number, boolean, nested array or typed array. The dtype defaults to
 * the typed array's own, bool for booleans, else float32.
 *
 * @example
 * ```ts
 * tensor([[1, 2], [3, 4]]);                       // float32 [2, 2]
 * tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] });
 * tensor(3, { dtype: 'float64' });
 * ```
 */
export function tensor(
  values: NestedArray | TypedArray | readonly number[],
  options: CreationOptions & { shape?: readonly number[] } = {},
): Tensor {
  const op = 'tensor';
  const backend = resolveBackend(options.backend);
  if (ArrayBuffer.isView(values)) {
    const own = dtypeOfArray(values);
    if (!own) fail(op, `unsupported typed array ${values.constructor.name} (use Float32Array, Float64Array, Int32Array or Uint8Array)`);
    const dtype = options.dtype ? checkDType(op, options.dtype) : own;
    const shape = options.shape ? checkShape(op, options.shape) : [values.length];
    check(sizeOf(shape) === values.length, op, () => `shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, got ${values.length}`);
    const data = allocArray(dtype, values.length);
    // A Uint8Array may hold any byte: bool tensors store exactly 0 or 1.
    if (dtype === own && dtype !== 'bool') data.set(values);
    else for (let i = 0; i < values.length; i++) data[i] = coerceScalar(values[i]!, dtype);
    return fromHost(backend, data, shape, dtype);
  }
  const v = values as NestedArray;
  const inferred = inferShape(op, v);
  let first: NestedArray = v;
  while (Array.isArray(first) && first.length) first = first[0]!;
  const dtype = options.dtype ? checkDType(op, options.dtype) : typeof first === 'boolean' ? 'bool' : 'float32';
  const data = allocArray(dtype, sizeOf(inferred));
  flattenNested(op, v, inferred, data, dtype);
  let shape = inferred;
  if (options.shape) {
    shape = checkShape(op, options.shape);
    check(sizeOf(shape) === data.length, op, () => `shape ${fmtShape(shape)} needs ${sizeOf(shape)} values, got ${data.length}`);
  }
  return fromHost(backend, data, shape, dtype);
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * full([2, 3], 7).toArray(); // [[7, 7, 7], [7, 7, 7]]
 * ```
 */
export function full(shape: readonly number[], value: number | boolean, options: CreationOptions = {}): Tensor {
  checkShape('full', shape);
  const dtype = checkDType('full', options.dtype ?? (typeof value === 'boolean' ? 'bool' : 'float32'));
  const data = allocArray(dtype, 1);
  data[0] = coerceScalar(value, dtype);
  const s = fromHost(resolveBackend(options.backend), data, [], dtype);
  return shape.length === 0 ? s : P.broadcast(s, shape);
}

/** A tensor of zeros. */
export const zeros = (shape: readonly number[], options: CreationOptions = {}) => full(shape, 0, options);
/** A tensor of ones. */
export const ones = (shape: readonly number[], options: CreationOptions = {}) => full(shape, 1, options);

/** Zeros (ones, a value) with the shape and dtype of `x`. */
export const zerosLike = (x: Tensor, options: CreationOptions = {}) => fullLike(x, 0, options);
export const onesLike = (x: Tensor, options: CreationOptions = {}) => fullLike(x, 1, options);
export function fullLike(x: Tensor, value: number, options: CreationOptions = {}): Tensor {
  if (!options.backend && !options.dtype) return P.fullLike(x, value);
  return full(x.shape, value, { dtype: options.dtype ?? x.dtype, backend: options.backend ?? (x.isTracer ? undefined : x.backend) });
}

/**
 * Evenly spaced values in [start, stop) with `step` (NumPy's arange). `arange(n)` is 0..n-1.
 * The dtype is int32 when all arguments are integers, else float32.
 */
export function arange(start: number, stop?: number, step = 1, options: CreationOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  check([start, stop, step].every(Number.isFinite) && step !== 0, 'arange', () => `expected finite start/stop and a non-zero step, got ${start}, ${stop}, ${step}`);
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDType('arange', options.dtype ?? ([start, stop, step].every(Number.isInteger) ? 'int32' : 'float32'));
  const data = allocArray(dtype, n);
  for (let i = 0; i < n; i++) data[i] = coerceScalar(start + i * step, dtype);
  return fromHost(resolveBackend(options.backend), data, [n], dtype);
}

/** `num` evenly spaced values from start to stop inclusive. */
export function linspace(start: number, stop: number, num: number, options: CreationOptions = {}): Tensor {
  check(Number.isInteger(num) && num >= 0, 'linspace', () => `num must be a non-negative integer, got ${num}`);
  const dtype = checkDType('linspace', options.dtype ?? 'float32');
  const data = allocArray(dtype, num);
  for (let i = 0; i < num; i++) data[i] = num === 1 ? start : start + ((stop - start) * i) / (num - 1);
  return fromHost(resolveBackend(options.backend), data, [num], dtype);
}

/** The n x m identity matrix (m defaults to n). */
export function eye(n: number, m = n, options: CreationOptions = {}): Tensor {
  checkShape('eye', [n, m]);
  const dtype = checkDType('eye', options.dtype ?? 'float32');
  const data = allocArray(dtype, n * m);
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return fromHost(resolveBackend(options.backend), data, [n, m], dtype);
}

/** A copy of `x` on another backend. */
export function toBackend(x: Tensor, backend: string | Backend): Tensor {
  const b = resolveBackend(backend);
  if (isTracing() && x.isTracer) fail('toBackend', 'cannot move a traced tensor between backends inside jit/grad');
  const own = x.concrete('toBackend').backend;
  if (own === b) return x;
  return fromHost(b, x.data(), x.shape, x.dtype);
}

export { Tensor };
