// The shared kernel representation: what the scheduler produces and what every backend
// renders (generated C, WGSL, CUDA C) or interprets (the reference backend). Everything here
// is plain data (no closures), so a renderer can print it and a cache can hash its printout.
import type { DType } from '../dtype.js';
import type { ConvParams } from '../primitives/types.js';
import { formatProgram } from './print.js';

// ---------------------------------------------------------------------------------------
// Integer index expressions
// ---------------------------------------------------------------------------------------

/**
 * An integer expression over a kernel's loop indices. `axis` numbers the kernel's index
 * space: axes `0 .. rank-1` are the output's dimensions, `rank .. rank+m-1` the reduction's
 * (see {@link FusedKernel}); axis `a` ranges over `[0, extent(a))`.
 *
 * `div` and `mod` are floor division and its non-negative remainder by a positive constant.
 * Wherever an index reaches memory (a load whose validity holds) every dividend is
 * non-negative, so C's truncating `/` and `%` agree with floor semantics there.
 * Comparisons and `and`/`or` give 0 or 1; they appear only in validity conditions.
 */
export type Idx =
  | { readonly op: 'axis'; readonly axis: number }
  | { readonly op: 'const'; readonly value: number }
  | { readonly op: 'add'; readonly a: Idx; readonly b: Idx }
  | { readonly op: 'mul'; readonly a: Idx; readonly b: Idx }
  | { readonly op: 'div'; readonly a: Idx; readonly b: number }
  | { readonly op: 'mod'; readonly a: Idx; readonly b: number }
  | { readonly op: 'lt' | 'ge' | 'eq'; readonly a: Idx; readonly b: Idx }
  | { readonly op: 'and' | 'or'; readonly a: Idx; readonly b: Idx };

// ---------------------------------------------------------------------------------------
// Scalar expressions
// ---------------------------------------------------------------------------------------

/**
 * The scalar ALU operations: one per elementwise primitive (`stopGradient` is the identity
 * and disappears). Semantics, per the operands' dtype, are those of the primitives:
 * - int32 arithmetic wraps to 32 bits; int32 `div` truncates toward zero and gives 0 for a
 *   zero divisor; int32 `pow` is the truncated real power (0 when not finite).
 * - float32 results are rounded to float32 after every operation.
 * - comparisons give bool (0/1); `where(c, a, b)` is `c ? a : b`.
 * - `cast` converts to the node's dtype: float -> int32 truncates (NaN and infinities give 0),
 *   anything -> bool is `x != 0 && !isnan(x)`, bool -> numbers is 0/1.
 * - `bitsToFloat` maps int32 random bits to [0, 1): float32 takes the top 24 bits
 *   (`(u32 >> 8) * 2^-24`), float64 all 32 (`u32 * 2^-32`); both exact.
 * - `sign` keeps NaN and signed zeros; `max`/`min` propagate NaN.
 */
export type AluOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'recip' | 'sin' | 'cos' | 'tanh' | 'abs' | 'sign'
  | 'cast' | 'bitsToFloat'
  | 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'pow'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge'
  | 'where';

/** Every ALU op with its number of operands: a renderer's dialect table has one entry each. */
export const ALU_ARITY: { readonly [K in AluOp]: 1 | 2 | 3 } = {
  neg: 1, exp: 1, log: 1, sqrt: 1, rsqrt: 1, recip: 1, sin: 1, cos: 1, tanh: 1, abs: 1, sign: 1,
  cast: 1, bitsToFloat: 1,
  add: 2, sub: 2, mul: 2, div: 2, max: 2, min: 2, pow: 2,
  eq: 2, ne: 2, lt: 2, le: 2, gt: 2, ge: 2,
  where: 3,
};

/**
 * A scalar expression evaluated at one point of a kernel's index space. Every node carries
 * the dtype of its value (bool values are 0/1).
 * - `load`: element `index` of kernel argument `arg` (a contiguous row-major buffer). With
 *   `valid`, the load happens only where `valid` is non-zero and `fill` is the value elsewhere
 *   (padding); a renderer must not touch memory where it is zero.
 * - `const`: a literal, already representable in `dtype`.
 * - `index`: an integer index expression as a value (`iota`).
 * - `alu`: an ALU op on operand expressions.
 * - `select`: `cond ? then : else` on an index condition (padding of computed values, concat);
 *   only the chosen branch may be evaluated for loads.
 * - `threefry`: word 0 of Threefry-2x32-20 of key `(key0, key1)` and counter `(stream, counter)`,
 *   as int32 (`randomBits`).
 * - `reduced`: the reduction's result, rounded to its dtype (only in a fused kernel's epilogue).
 */
export type Expr =
  | { readonly op: 'load'; readonly dtype: DType; readonly arg: number; readonly index: Idx; readonly valid?: Idx; readonly fill?: number }
  | { readonly op: 'const'; readonly dtype: DType; readonly value: number }
  | { readonly op: 'index'; readonly dtype: DType; readonly index: Idx }
  | { readonly op: 'alu'; readonly dtype: DType; readonly alu: AluOp; readonly args: readonly Expr[] }
  | { readonly op: 'select'; readonly dtype: DType; readonly cond: Idx; readonly then: Expr; readonly else: Expr }
  | { readonly op: 'threefry'; readonly dtype: 'int32'; readonly key: readonly [Expr, Expr]; readonly stream: number; readonly counter: Idx }
  | { readonly op: 'reduced'; readonly dtype: DType };

// ---------------------------------------------------------------------------------------
// Kernels
// ---------------------------------------------------------------------------------------

/** A reduction inside a fused kernel: `op` over the extra axes `rank .. rank+extents.length-1`. */
export interface Reduction {
  readonly op: 'sum' | 'max';
  /** Extents of the reduced axes, in the order of the reduced input's axes (outermost first). */
  readonly extents: readonly number[];
  /** The value folded in at each point of the full index space (output axes, then reduced axes). */
  readonly body: Expr;
  /** The accumulated value's dtype (the reference accumulates in float64 and rounds once). */
  readonly dtype: DType;
}

/**
 * A fused kernel: for every multi-index of `shape` (row-major), evaluates `expr` and stores it
 * at the flat position of that index in buffer `out`. With `reduce`, each output point first
 * folds `reduce.body` over the reduction axes (sum starts at 0, max at -infinity and keeps
 * NaN); `expr` is then the epilogue, where `{ op: 'reduced' }` stands for the folded value.
 */
export interface FusedKernel {
  readonly kind: 'fused';
  /** Output shape = the index space's first `shape.length` axes. */
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly reduce?: Reduction;
  readonly expr: Expr;
  /** Buffers read, by program buffer id; `load.arg` indexes this list. */
  readonly args: readonly number[];
  /** Buffer written (program buffer id). */
  readonly out: number;
}

/** The named ops that backends implement once, with tuned templates. */
export type LibraryOp = 'dot' | 'conv2d' | 'conv2dInputGrad' | 'conv2dWeightGrad';

/** Parameters of each library op (those of the primitive of the same name). */
export interface LibraryParams {
  dot: {};
  conv2d: ConvParams;
  conv2dInputGrad: ConvParams & { readonly inputShape: readonly number[] };
  conv2dWeightGrad: ConvParams & { readonly weightShape: readonly number[] };
}

/**
 * A library kernel: the primitive `op` on contiguous row-major input buffers, writing a
 * contiguous row-major output (the primitive's reference implementation defines the result).
 *
 * With `epilogue`, elementwise work follows the op inside the same kernel (a convolution's
 * BatchNorm affine, ReLU and residual add, say): for every point of `shape`, the stored value
 * is `epilogue` evaluated there, where `{ op: 'reduced' }` stands for the op's result at that
 * point (rounded to `dtype`) and loads index `args` like a fused kernel's. A backend computes
 * the op a tile or an image at a time and applies the epilogue while the tile is still in
 * cache, instead of a second kernel reading the whole result back.
 */
export interface LibraryKernel<O extends LibraryOp = LibraryOp> {
  readonly kind: 'library';
  readonly op: O;
  readonly params: LibraryParams[O];
  /**
   * Buffers read, by program buffer id: the op's operands first (one per `argShapes` entry),
   * then any further buffers only the epilogue reads.
   */
  readonly args: readonly number[];
  readonly argShapes: readonly (readonly number[])[];
  readonly out: number;
  readonly shape: readonly number[];
  /** The op's result dtype, and the output's (an epilogue keeps both the same). */
  readonly dtype: DType;
  readonly epilogue?: Expr;
}

export type Kernel = FusedKernel | LibraryKernel;

// ---------------------------------------------------------------------------------------
// Buffers and programs
// ---------------------------------------------------------------------------------------

/**
 * Where a buffer's memory comes from: a graph input or const (never written), a graph
 * output (a fresh buffer every run, handed to the caller), or a temporary placed in an
 * arena slot by the buffer plan (slots are reused once their previous tenant is dead).
 */
export type BufferRole =
  | { readonly kind: 'input'; readonly index: number }
  | { readonly kind: 'const'; readonly index: number }
  | { readonly kind: 'output'; readonly index: number }
  | { readonly kind: 'temp'; readonly slot: number };

/** A buffer of the program: a contiguous row-major array of `size` elements of `dtype`. */
export interface BufferInfo {
  readonly id: number;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly size: number;
  readonly role: BufferRole;
}

/** An arena slot of the buffer plan: one allocation of `size` elements, owned by the executable. */
export interface Slot {
  readonly dtype: DType;
  readonly size: number;
}

/**
 * A scheduled graph: kernels to run in order over planned buffers. `inputs[i]` is the buffer
 * of graph input i; `consts[i]` that of graph const i, or `null` when the const was inlined as a
 * literal (0-d consts) or is unused; `outputs[i]` the buffer of graph output i.
 */
export class Program {
  constructor(
    readonly buffers: readonly BufferInfo[],
    readonly slots: readonly Slot[],
    readonly kernels: readonly Kernel[],
    readonly inputs: readonly number[],
    readonly consts: readonly (number | null)[],
    readonly outputs: readonly number[],
  ) {}

  /** A readable listing of the buffers and kernels, for debugging and docs. */
  toString(): string {
    return formatProgram(this);
  }
}
