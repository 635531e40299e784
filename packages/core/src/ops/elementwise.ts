import { type DType, isFloat, promoteTypes } from '../dtype.js';
import { fail } from '../errors.js';
import { broadcastShapes } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as P from './prim.js';

/** A tensor, or a JS number/boolean that takes the other operand's dtype where it can. */
export type TensorLike = Tensor | number | boolean;

function describeArg(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array (wrap it with tensor())';
  return typeof x;
}

/** Checks that `x` is a tensor or a number, naming `op` otherwise. */
export function asOperand(op: string, x: unknown): TensorLike {
  if (x instanceof Tensor || typeof x === 'number' || typeof x === 'boolean') return x;
  return fail(op, `expected a Tensor or a number, got ${describeArg(x)}`);
}

export function asTensor(op: string, x: unknown): Tensor {
  if (x instanceof Tensor) return x;
  return fail(op, `expected a Tensor, got ${describeArg(x)}`);
}

/**
 * The result dtype of an op over `xs`. JS numbers are weakly typed (as in JAX): they take
 * a tensor operand's dtype, except that a fractional number makes an integer tensor float32.
 */
export function resultType(xs: readonly TensorLike[]): DType {
  let dtype: DType | undefined;
  for (const x of xs) if (x instanceof Tensor) dtype = dtype ? promoteTypes(dtype, x.dtype) : x.dtype;
  for (const x of xs) {
    if (x instanceof Tensor) continue;
    const weak: DType = typeof x === 'boolean' ? 'bool' : Number.isInteger(x) ? 'int32' : 'float32';
    if (!dtype) dtype = weak === 'int32' ? 'float32' : weak;
    else if (!isFloat(dtype) && weak !== 'bool') dtype = promoteTypes(dtype, weak);
  }
  return dtype ?? 'float32';
}

/** Promotes and broadcasts operands to one dtype and shape. */
export function broadcastOperands(op: string, xs: readonly unknown[], dtype?: DType): Tensor[] {
  const ops = xs.map((x) => asOperand(op, x));
  const dt = dtype ?? resultType(ops);
  let shape: number[] = [];
  for (const x of ops) if (x instanceof Tensor) shape = broadcastShapes(op, shape, x.shape);
  const like = ops.find((x): x is Tensor => x instanceof Tensor);
  return ops.map((x) => {
    const t = x instanceof Tensor ? P.cast(x, dt) : P.scalar(Number(x), dt, like);
    return P.broadcast(t, shape);
  });
}

type BinaryPrim = (a: Tensor, b: Tensor) => Tensor;

function arithmetic(op: string, prim: BinaryPrim, { float = false } = {}) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    let dt = resultType([asOperand(op, a), asOperand(op, b)]);
    if (dt === 'bool') dt = 'int32';
    if (float && !isFloat(dt)) dt = 'float32';
    const [x, y] = broadcastOperands(op, [a, b], dt);
    return prim(x!, y!);
  };
}

/** a + b, elementwise with NumPy broadcasting. @example add(tensor([1, 2]), 1).toArray() // [2, 3] */
export const add = arithmetic('add', P.add);
/** a - b, elementwise with broadcasting. */
export const sub = arithmetic('sub', P.sub);
/** a * b, elementwise with broadcasting. */
export const mul = arithmetic('mul', P.mul);
/** a / b, elementwise with broadcasting; integer operands give a float32 result (true division). */
export const div = arithmetic('div', P.div, { float: true });
/** a ** b, elementwise with broadcasting. */
export const pow = arithmetic('pow', P.pow);
/** Elementwise maximum with broadcasting (the gradient goes to `a` on ties). */
export const maximum = arithmetic('maximum', P.max);
/** Elementwise minimum with broadcasting (the gradient goes to `a` on ties). */
export const minimum = arithmetic('minimum', P.min);

function comparison(op: string, prim: BinaryPrim) {
  return (a: TensorLike, b: TensorLike): Tensor => {
    const [x, y] = broadcastOperands(op, [a, b]);
    return prim(x!, y!);
  };
}

/** Elementwise comparisons with broadcasting; the result is bool. */
export const equal = comparison('equal', P.eq);
export const notEqual = comparison('notEqual', P.ne);
export const less = comparison('less', P.lt);
export const lessEqual = comparison('lessEqual', P.le);
export const greater = comparison('greater', P.gt);
export const greaterEqual = comparison('greaterEqual', P.ge);

function floatUnary(op: string, prim: (x: Tensor) => Tensor) {
  return (x: Tensor): Tensor => {
    const t = asTensor(op, x);
    return prim(isFloat(t.dtype) ? t : P.cast(t, 'float32'));
  };
}

function numericUnary(op: string, prim: (x: Tensor) => Tensor) {
  return (x: Tensor): Tensor => {
    const t = asTensor(op, x);
    return prim(t.dtype === 'bool' ? P.cast(t, 'int32') : t);
  };
}

/** Elementwise functions; integer inputs of the float ones are cast to float32. */
export const neg = numericUnary('neg', P.neg);
export const abs = numericUnary('abs', P.abs);
export const sign = numericUnary('sign', P.sign);
export const exp = floatUnary('exp', P.exp);
export const log = floatUnary('log', P.log);
export const sqrt = floatUnary('sqrt', P.sqrt);
export const rsqrt = floatUnary('rsqrt', P.rsqrt);
export const reciprocal = floatUnary('reciprocal', P.recip);
export const sin = floatUnary('sin', P.sin);
export const cos = floatUnary('cos', P.cos);
export const tanh = floatUnary('tanh', P.tanh);

/** x squared. */
export const square = (x: Tensor) => mul(x, x);

/** The logistic sigmoid 1 / (1 + exp(-x)), written as (1 + tanh(x/2)) / 2 to stay finite everywhere. */
export const sigmoid = (x: Tensor) => mul(add(tanh(mul(asTensor('sigmoid', x), 0.5)), 1), 0.5);

/** max(x, 0); the gradient at 0 is 0, as in PyTorch. */
export function relu(x: Tensor): Tensor {
  const t = asTensor('relu', x);
  const zero = P.fullLike(t, 0);
  return P.where(P.gt(t, zero), t, zero);
}

/**
 * log(1 + exp(x)), computed stably as m + log(exp(x - m) + exp(-m)) with m = max(x, 0) held
 * constant (both exponents are <= 0). As m only shifts an exact identity, every derivative is
 * that of log(1 + exp(x)), at 0 too (max(x, 0) + log(1 + exp(-|x|)) has slope 1, not 1/2, there).
 */
export function softplus(x: Tensor): Tensor {
  const t = asTensor('softplus', x);
  const m = P.stopGradient(maximum(t, 0));
  return add(log(add(exp(sub(t, m)), exp(neg(m)))), m);
}

/**
 * Picks `a` where `cond` is true and `b` elsewhere, with broadcasting.
 *
 * @example
 * ```ts
 * where(tensor([true, false]), 1, tensor([5, 6])).toArray(); // [1, 6]
 * ```
 */
export function where(cond: Tensor | boolean, a: TensorLike, b: TensorLike): Tensor {
  const c = asOperand('where', cond);
  const dt = resultType([asOperand('where', a), asOperand('where', b)]);
  const [cc, x, y] = broadcastOperands('where', [c, a, b], undefined);
  return P.where(P.cast(cc!, 'bool'), P.cast(x!, dt), P.cast(y!, dt));
}

/** Converts to another dtype (float to int truncates toward zero). */
export function cast(x: Tensor, dtype: DType): Tensor {
  return P.cast(asTensor('cast', x), dtype);
}

/** The identity whose gradient is zero: the value is used, but not differentiated through. */
export function stopGradient(x: Tensor): Tensor {
  return P.stopGradient(asTensor('stopGradient', x));
}
