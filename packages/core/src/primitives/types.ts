import type { DType, TypedArray } from '../dtype.js';
import type { Aval } from '../graph.js';
import type { Tensor } from '../tensor.js';

/** Stride, padding and dilation of a 2-d convolution (NCHW input, OIHW weights). */
export interface ConvParams {
  readonly stride: readonly [number, number];
  /** [[top, bottom], [left, right]] zero padding. */
  readonly padding: readonly [readonly [number, number], readonly [number, number]];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** The parameters of every primitive; the keys are the primitive set. */
export interface Params {
  // elementwise, unary
  neg: {};
  exp: {};
  log: {};
  sqrt: {};
  rsqrt: {};
  recip: {};
  sin: {};
  cos: {};
  tanh: {};
  abs: {};
  sign: {};
  cast: { readonly dtype: DType };
  stopGradient: {};
  /** int32 random bits -> uniform floats in [0, 1). */
  bitsToFloat: { readonly dtype: 'float32' | 'float64' };
  // elementwise, binary (operands of one shape and dtype)
  add: {};
  sub: {};
  mul: {};
  div: {};
  max: {};
  min: {};
  pow: {};
  eq: {};
  ne: {};
  lt: {};
  le: {};
  gt: {};
  ge: {};
  // elementwise, ternary
  where: {};
  // reductions (the reduced axes are removed)
  sum: { readonly axes: readonly number[] };
  reduceMax: { readonly axes: readonly number[] };
  // movement
  reshape: { readonly shape: readonly number[] };
  /** Same rank; each input dimension is 1 or equals the output's. */
  broadcast: { readonly shape: readonly number[] };
  transpose: { readonly perm: readonly number[] };
  /** Half-open [start, end) per axis, positive step. */
  slice: { readonly start: readonly number[]; readonly end: readonly number[]; readonly step: readonly number[] };
  /** Non-negative padding before, after and between the elements of each axis, filled with `value`. */
  pad: {
    readonly lo: readonly number[];
    readonly hi: readonly number[];
    /** Elements inserted between neighbours (the VJP of a strided slice). */
    readonly interior: readonly number[];
    readonly value: number;
  };
  concat: { readonly axis: number };
  // library
  /** [...B, M, K] x [...B, K, N] -> [...B, M, N]. */
  dot: {};
  conv2d: ConvParams;
  /** The VJP of conv2d with respect to its input: (dy, w) -> dx of shape `inputShape`. */
  conv2dInputGrad: ConvParams & { readonly inputShape: readonly number[] };
  /** The VJP of conv2d with respect to its weights: (x, dy) -> dw of shape `weightShape`. */
  conv2dWeightGrad: ConvParams & { readonly weightShape: readonly number[] };
  // sources
  iota: { readonly shape: readonly number[]; readonly axis: number; readonly dtype: DType };
  /** Threefry-2x32 bits: element i is word 0 of threefry(key, (stream, i)). */
  randomBits: { readonly shape: readonly number[]; readonly stream: number };
}

export type PrimName = keyof Params;

/** A concrete array as the reference implementations see it. */
export interface RefArray {
  readonly data: TypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * How a primitive enters a kernel: `elementwise` ops are fused scalar expressions,
 * `movement` ops become index expressions on loads, `reduce` ops end a fused chain,
 * `library` ops are named kernels each backend implements once, `source` ops make values
 * from their index alone.
 */
export type PrimKind = 'elementwise' | 'reduce' | 'movement' | 'library' | 'source';

/**
 * The VJP rule of one input: given the output cotangent, the inputs and the output, the
 * cotangent of input `i`, written with primitives so that it can itself be differentiated.
 * `null` means the input gets no gradient (integer inputs, conditions).
 */
export type VjpRule<P extends PrimName> = (
  i: number,
  ct: Tensor,
  inputs: readonly Tensor[],
  out: Tensor,
  params: Params[P],
) => Tensor | null;

/** Everything about one primitive, in one place. */
export interface PrimitiveDef<P extends PrimName> {
  readonly kind: PrimKind;
  /** Abstract evaluation: checks the inputs and gives the output's shape and dtype. */
  shape(inputs: readonly Aval[], params: Params[P]): Aval;
  /** The obviously-correct implementation over typed arrays: the oracle of every backend. */
  reference(inputs: readonly RefArray[], params: Params[P], out: Aval): TypedArray;
  /** Reverse-mode rule; `undefined` only for primitives without differentiable inputs. */
  vjp: VjpRule<P> | null;
}

export type PrimitiveTable = { readonly [P in PrimName]: PrimitiveDef<P> };
