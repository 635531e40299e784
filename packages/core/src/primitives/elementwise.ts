import { type DType, isDType } from '../dtype.js';
import { check, fail } from '../errors.js';
import type { Aval } from '../graph.js';
import * as P from '../ops/prim.js';
import { checkArity, checkFloat, checkNumeric, checkSame, mapRef, toInt32, zipRef } from './common.js';
import type { PrimitiveDef, Params, VjpRule } from './types.js';

type Unary = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'recip' | 'sin' | 'cos' | 'tanh' | 'abs' | 'sign';

function unary<P extends Unary>(
  name: P,
  floatOnly: boolean,
  f: (v: number) => number,
  vjp: (ct: import('../tensor.js').Tensor, x: import('../tensor.js').Tensor, y: import('../tensor.js').Tensor) => import('../tensor.js').Tensor | null,
  intF: (v: number) => number = f,
): PrimitiveDef<P> {
  return {
    kind: 'elementwise',
    shape(inputs) {
      checkArity(name, inputs, 1);
      const x = inputs[0]!;
      if (floatOnly) checkFloat(name, x);
      else checkNumeric(name, x);
      return { shape: x.shape, dtype: x.dtype };
    },
    reference([x], _p, out) {
      return mapRef(x!, out.dtype, out.dtype === 'int32' ? (v) => toInt32(intF(v)) : f);
    },
    vjp: ((_i, ct, [x], y) => vjp(ct, x!, y)) as VjpRule<P>,
  };
}

const half = (t: import('../tensor.js').Tensor, v: number) => P.fullLike(t, v);

export const neg = unary('neg', false, (v) => -v, (ct) => P.neg(ct));
export const exp = unary('exp', true, Math.exp, (ct, _x, y) => P.mul(ct, y));
export const log = unary('log', true, Math.log, (ct, x) => P.div(ct, x));
// d sqrt(x) = dx / (2 sqrt(x))
export const sqrt = unary('sqrt', true, Math.sqrt, (ct, _x, y) => P.div(ct, P.mul(y, half(y, 2))));
// d x^(-1/2) = -1/2 x^(-3/2) dx = -1/2 y^3 dx
export const rsqrt = unary('rsqrt', true, (v) => 1 / Math.sqrt(v), (ct, _x, y) =>
  P.mul(ct, P.mul(P.mul(y, P.mul(y, y)), half(y, -0.5))),
);
// d (1/x) = -y^2 dx
export const recip = unary('recip', true, (v) => 1 / v, (ct, _x, y) => P.neg(P.mul(ct, P.mul(y, y))));
export const sin = unary('sin', true, Math.sin, (ct, x) => P.mul(ct, P.cos(x)));
export const cos = unary('cos', true, Math.cos, (ct, x) => P.neg(P.mul(ct, P.sin(x))));
// d tanh(x) = (1 - y^2) dx
export const tanh = unary('tanh', true, Math.tanh, (ct, _x, y) => P.mul(ct, P.sub(half(y, 1), P.mul(y, y))));
export const abs = unary('abs', false, Math.abs, (ct, x) => P.mul(ct, P.sign(x)));
// sign is piecewise constant: its derivative is zero wherever it exists.
export const sign = unary('sign', false, (v) => (v > 0 ? 1 : v < 0 ? -1 : v), () => null);

export const cast: PrimitiveDef<'cast'> = {
  kind: 'elementwise',
  shape(inputs, p) {
    checkArity('cast', inputs, 1);
    check(isDType(p.dtype), 'cast', () => `unknown dtype '${String(p.dtype)}' (expected float32, float64, int32 or bool)`);
    return { shape: inputs[0]!.shape, dtype: p.dtype };
  },
  reference([x], p) {
    const f: Record<DType, (v: number) => number> = {
      float32: (v) => v,
      float64: (v) => v,
      int32: (v) => (Number.isFinite(v) ? Math.trunc(v) | 0 : 0),
      bool: (v) => (v !== 0 && !Number.isNaN(v) ? 1 : 0),
    };
    return mapRef(x!, p.dtype, f[p.dtype]);
  },
  // Only float-to-float casts carry a gradient; casts to or from integers are piecewise constant.
  vjp: (_i, ct, [x]) =>
    (x!.dtype === 'float32' || x!.dtype === 'float64') && (ct.dtype === 'float32' || ct.dtype === 'float64')
      ? P.cast(ct, x!.dtype)
      : null,
};

export const stopGradient: PrimitiveDef<'stopGradient'> = {
  kind: 'elementwise',
  shape(inputs) {
    checkArity('stopGradient', inputs, 1);
    return { shape: inputs[0]!.shape, dtype: inputs[0]!.dtype };
  },
  reference: ([x]) => x!.data.slice(),
  vjp: () => null,
};

export const bitsToFloat: PrimitiveDef<'bitsToFloat'> = {
  kind: 'elementwise',
  shape(inputs, p) {
    checkArity('bitsToFloat', inputs, 1);
    check(inputs[0]!.dtype === 'int32', 'bitsToFloat', () => `expected int32 random bits, got ${inputs[0]!.dtype}`);
    check(p.dtype === 'float32' || p.dtype === 'float64', 'bitsToFloat', () => `dtype must be float32 or float64, got ${p.dtype}`);
    return { shape: inputs[0]!.shape, dtype: p.dtype };
  },
  // float32: the top 24 bits scaled by 2^-24; float64: all 32 bits scaled by 2^-32. Both exact, in [0, 1).
  reference: ([x], p) =>
    mapRef(x!, p.dtype, p.dtype === 'float32' ? (v) => (v >>> 8) * 2 ** -24 : (v) => (v >>> 0) * 2 ** -32),
  vjp: () => null,
};

type Binary = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow';

function binary<P extends Binary>(
  name: P,
  f: (a: number, b: number) => number,
  intF: (a: number, b: number) => number,
  vjp: VjpRule<P>,
  allowBool = false,
): PrimitiveDef<P> {
  return {
    kind: 'elementwise',
    shape(inputs) {
      checkArity(name, inputs, 2);
      checkSame(name, inputs[0]!, inputs[1]!);
      if (!allowBool) checkNumeric(name, inputs[0]!);
      return { shape: inputs[0]!.shape, dtype: inputs[0]!.dtype };
    },
    reference([a, b], _p, out) {
      return zipRef(a!, b!, out.dtype, out.dtype === 'float32' || out.dtype === 'float64' ? f : intF);
    },
    vjp,
  };
}

const zerosLike = (x: import('../tensor.js').Tensor) => P.fullLike(x, 0);

export const add = binary('add', (a, b) => a + b, (a, b) => (a + b) | 0, (_i, ct) => ct);
export const sub = binary('sub', (a, b) => a - b, (a, b) => (a - b) | 0, (i, ct) => (i === 0 ? ct : P.neg(ct)));
export const mul = binary('mul', (a, b) => a * b, Math.imul, (i, ct, [a, b]) => P.mul(ct, i === 0 ? b! : a!));
// d(a/b) = da/b - a/b^2 db = da/b - y/b db
export const div = binary(
  'div',
  (a, b) => a / b,
  (a, b) => (b === 0 ? 0 : Math.trunc(a / b) | 0),
  (i, ct, [, b], y) => (i === 0 ? P.div(ct, b!) : P.neg(P.div(P.mul(ct, y), b!))),
);
// The gradient of max/min goes to the first operand on ties.
export const max = binary(
  'max',
  Math.max,
  Math.max,
  (i, ct, [a, b]) => (i === 0 ? P.where(P.ge(a!, b!), ct, zerosLike(ct)) : P.where(P.lt(a!, b!), ct, zerosLike(ct))),
  true,
);
export const min = binary(
  'min',
  Math.min,
  Math.min,
  (i, ct, [a, b]) => (i === 0 ? P.where(P.le(a!, b!), ct, zerosLike(ct)) : P.where(P.gt(a!, b!), ct, zerosLike(ct))),
  true,
);
// d a^b = b a^(b-1) da + a^b log(a) db (log taken as 0 where a = 0, as a^b is then 0 or 1)
export const pow = binary(
  'pow',
  Math.pow,
  (a, b) => toInt32(Math.pow(a, b)),
  (i, ct, [a, b], y) => {
    if (i === 0) return P.mul(ct, P.mul(b!, P.pow(a!, P.sub(b!, P.fullLike(b!, 1)))));
    const safeLog = P.where(P.eq(a!, zerosLike(a!)), zerosLike(a!), P.log(a!));
    return P.mul(ct, P.mul(y, safeLog));
  },
);

type Compare = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

function compare<P extends Compare>(name: P, f: (a: number, b: number) => boolean): PrimitiveDef<P> {
  return {
    kind: 'elementwise',
    shape(inputs) {
      checkArity(name, inputs, 2);
      checkSame(name, inputs[0]!, inputs[1]!);
      return { shape: inputs[0]!.shape, dtype: 'bool' };
    },
    reference: ([a, b]) => zipRef(a!, b!, 'bool', (x, y) => (f(x, y) ? 1 : 0)),
    vjp: () => null,
  };
}

export const eq = compare('eq', (a, b) => a === b);
export const ne = compare('ne', (a, b) => a !== b);
export const lt = compare('lt', (a, b) => a < b);
export const le = compare('le', (a, b) => a <= b);
export const gt = compare('gt', (a, b) => a > b);
export const ge = compare('ge', (a, b) => a >= b);

export const where: PrimitiveDef<'where'> = {
  kind: 'elementwise',
  shape(inputs) {
    checkArity('where', inputs, 3);
    const [c, a, b] = inputs as [Aval, Aval, Aval];
    checkSame('where', a, b);
    if (c.dtype !== 'bool' || c.shape.length !== a.shape.length || c.shape.some((d, i) => d !== a.shape[i]))
      fail('where', `condition must be bool of the operands' shape [${a.shape.join(', ')}], got ${c.dtype}[${c.shape.join(', ')}]`);
    return { shape: a.shape, dtype: a.dtype };
  },
  reference([c, a, b], _p, out) {
    const o = a!.data.slice();
    for (let i = 0; i < o.length; i++) if (!c!.data[i]) o[i] = b!.data[i]!;
    void out;
    return o;
  },
  vjp: (i, ct, [c]) =>
    i === 0 ? null : i === 1 ? P.where(c!, ct, zerosLike(ct)) : P.where(c!, zerosLike(ct), ct),
};

export type ElementwiseName = Unary | Binary | Compare | 'cast' | 'stopGradient' | 'bitsToFloat' | 'where';
export type { Params };
