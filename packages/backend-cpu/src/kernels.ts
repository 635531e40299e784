// Typed-array entry points to the library kernels, checked on the JS side (the C code
// trusts its arguments). These serve tests, benchmarks and, later, the Backend class,
// which will call the same C functions on its own buffers.
import { primitives, type ConvParams } from '@resgrad/core';
import { loadRuntime } from './runtime.js';

export type FloatArray = Float32Array | Float64Array;

export interface GemmArgs<A extends FloatArray> {
  /** Number of matrices (default 1). */
  readonly batch?: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** M x K row-major, or K x M when transA. */
  readonly a: A;
  /** K x N row-major, or N x K when transB. */
  readonly b: A;
  /** M x N row-major output. */
  readonly c: A;
  readonly transA?: boolean;
  readonly transB?: boolean;
  /** c += a b instead of c = a b. */
  readonly accumulate?: boolean;
  /** Row strides; default dense (K or M for a, N or K for b, N for c). */
  readonly lda?: number;
  readonly ldb?: number;
  readonly ldc?: number;
  /** Batch strides; default dense; 0 reuses one matrix for the whole batch. */
  readonly strideA?: number;
  readonly strideB?: number;
  readonly strideC?: number;
}

function need(ok: boolean, msg: () => string): void {
  if (!ok) throw new Error(`@resgrad/backend-cpu: ${msg()}`);
}

/** c[i] = op(a[i]) op(b[i]) (+ c[i]) for i < batch, in float32 (SIMD) or float64 (portable). */
export function gemm<A extends FloatArray>(g: GemmArgs<A>): void {
  const batch = g.batch ?? 1;
  const { M, N, K } = g;
  const ta = g.transA ?? false;
  const tb = g.transB ?? false;
  const lda = g.lda ?? (ta ? M : K);
  const ldb = g.ldb ?? (tb ? K : N);
  const ldc = g.ldc ?? N;
  const sa = g.strideA ?? M * K;
  const sb = g.strideB ?? K * N;
  const sc = g.strideC ?? M * N;
  const dims = [batch, M, N, K, lda, ldb, ldc, sa, sb, sc];
  need(dims.every((d) => Number.isInteger(d) && d >= 0), () => `gemm: sizes and strides must be non-negative integers, got ${dims.join(', ')}`);
  need(g.a.constructor === g.b.constructor && g.b.constructor === g.c.constructor, () => 'gemm: a, b and c must be arrays of one type');
  // Last element each operand touches must lie inside its array.
  const extent = (rows: number, cols: number, ld: number, stride: number) =>
    batch === 0 || rows === 0 || cols === 0 ? 0 : (batch - 1) * stride + (rows - 1) * ld + cols;
  const [ar, ac] = ta ? [K, M] : [M, K];
  const [br, bc] = tb ? [N, K] : [K, N];
  need(ld(ac, lda) && ld(bc, ldb) && ld(N, ldc), () => `gemm: row strides lda=${lda} ldb=${ldb} ldc=${ldc} are shorter than the rows`);
  need(extent(ar, ac, lda, sa) <= g.a.length, () => `gemm: a has ${g.a.length} elements, needs ${extent(ar, ac, lda, sa)}`);
  need(extent(br, bc, ldb, sb) <= g.b.length, () => `gemm: b has ${g.b.length} elements, needs ${extent(br, bc, ldb, sb)}`);
  need(extent(M, N, ldc, sc) <= g.c.length, () => `gemm: c has ${g.c.length} elements, needs ${extent(M, N, ldc, sc)}`);
  const f = loadRuntime().fns;
  const acc = g.accumulate ? 1 : 0;
  if (g.c instanceof Float32Array)
    f.rg_sgemm(batch, M, N, K, g.a as Float32Array, lda, sa, +ta, g.b as Float32Array, ldb, sb, +tb, g.c, ldc, sc, acc);
  else f.rg_dgemm(batch, M, N, K, g.a as Float64Array, lda, sa, +ta, g.b as Float64Array, ldb, sb, +tb, g.c, ldc, sc, acc);
}

const ld = (cols: number, stride: number) => cols === 0 || stride >= cols;

/** The dot primitive: [...B, M, K] x [...B, K, N] -> [...B, M, N]. */
export function dot<A extends FloatArray>(a: A, aShape: readonly number[], b: A, bShape: readonly number[]): { data: A; shape: number[] } {
  const dtype = a instanceof Float32Array ? 'float32' : 'float64';
  const out = primitives.dot.shape([{ shape: aShape, dtype }, { shape: bShape, dtype }], {});
  const r = aShape.length;
  const [M, K, N] = [aShape[r - 2]!, aShape[r - 1]!, bShape[r - 1]!];
  const batch = out.shape.slice(0, r - 2).reduce((p, d) => p * d, 1);
  const c = new (a.constructor as new (n: number) => A)(batch * M * N);
  gemm({ batch, M, N, K, a, b, c });
  return { data: c, shape: [...out.shape] };
}

/** The int32[16] geometry the C kernels read: N C H W O KH KW OH OW sh sw pt pl dh dw G. */
export function convDims(x: readonly number[], w: readonly number[], y: readonly number[], p: ConvParams): Int32Array {
  return Int32Array.from([
    x[0]!, x[1]!, x[2]!, x[3]!, w[0]!, w[2]!, w[3]!, y[2]!, y[3]!,
    p.stride[0], p.stride[1], p.padding[0][0], p.padding[1][0], p.dilation[0], p.dilation[1], p.groups,
  ]);
}

const dtypeOf = (a: FloatArray) => (a instanceof Float32Array ? 'float32' : 'float64');
const alloc = <A extends FloatArray>(like: A, n: number): A => new (like.constructor as new (n: number) => A)(n);
const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

function checkLen(op: string, what: string, a: FloatArray, shape: readonly number[]): void {
  need(a.length === size(shape), () => `${op}: ${what} has ${a.length} elements but shape [${shape.join(', ')}]`);
}

/** y = conv2d(x, w): x [N, C, H, W], w [O, C/groups, KH, KW]. */
export function conv2d<A extends FloatArray>(x: A, xShape: readonly number[], w: A, wShape: readonly number[], p: ConvParams): { data: A; shape: number[] } {
  const dtype = dtypeOf(x);
  const yShape = primitives.conv2d.shape([{ shape: xShape, dtype }, { shape: wShape, dtype: dtypeOf(w) }], p).shape;
  checkLen('conv2d', 'x', x, xShape);
  checkLen('conv2d', 'w', w, wShape);
  const y = alloc(x, size(yShape));
  const dims = convDims(xShape, wShape, yShape, p);
  const f = loadRuntime().fns;
  if (y instanceof Float32Array) f.rg_conv2d_f32(dims, x as Float32Array, w as Float32Array, y);
  else f.rg_conv2d_f64(dims, x as Float64Array, w as Float64Array, y);
  return { data: y, shape: [...yShape] };
}

/** dx = conv2dInputGrad(dy, w) for an input of shape inputShape. */
export function conv2dInputGrad<A extends FloatArray>(
  dy: A, dyShape: readonly number[], w: A, wShape: readonly number[], p: ConvParams, inputShape: readonly number[],
): { data: A; shape: number[] } {
  const dtype = dtypeOf(dy);
  primitives.conv2dInputGrad.shape([{ shape: dyShape, dtype }, { shape: wShape, dtype: dtypeOf(w) }], { ...p, inputShape });
  checkLen('conv2dInputGrad', 'dy', dy, dyShape);
  checkLen('conv2dInputGrad', 'w', w, wShape);
  const dx = alloc(dy, size(inputShape));
  const dims = convDims(inputShape, wShape, dyShape, p);
  const f = loadRuntime().fns;
  if (dx instanceof Float32Array) f.rg_conv2d_input_grad_f32(dims, dy as Float32Array, w as Float32Array, dx);
  else f.rg_conv2d_input_grad_f64(dims, dy as Float64Array, w as Float64Array, dx);
  return { data: dx, shape: [...inputShape] };
}

/** dw = conv2dWeightGrad(x, dy) for weights of shape weightShape. */
export function conv2dWeightGrad<A extends FloatArray>(
  x: A, xShape: readonly number[], dy: A, dyShape: readonly number[], p: ConvParams, weightShape: readonly number[],
): { data: A; shape: number[] } {
  const dtype = dtypeOf(x);
  primitives.conv2dWeightGrad.shape([{ shape: xShape, dtype }, { shape: dyShape, dtype: dtypeOf(dy) }], { ...p, weightShape });
  checkLen('conv2dWeightGrad', 'x', x, xShape);
  checkLen('conv2dWeightGrad', 'dy', dy, dyShape);
  const dw = alloc(x, size(weightShape));
  const dims = convDims(xShape, weightShape, dyShape, p);
  const f = loadRuntime().fns;
  if (dw instanceof Float32Array) f.rg_conv2d_weight_grad_f32(dims, x as Float32Array, dy as Float32Array, dw);
  else f.rg_conv2d_weight_grad_f64(dims, x as Float64Array, dy as Float64Array, dw);
  return { data: dw, shape: [...weightShape] };
}
