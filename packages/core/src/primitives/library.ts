import { allocArray, type TypedArray } from '../dtype.js';
import { check, fail, fmtShape } from '../errors.js';
import type { Aval } from '../graph.js';
import * as P from '../ops/prim.js';
import { sizeOf } from '../shape.js';
import { checkArity, checkFloat, checkNumeric } from './common.js';
import type { ConvParams, PrimitiveDef, RefArray } from './types.js';

export const dot: PrimitiveDef<'dot'> = {
  kind: 'library',
  shape(inputs) {
    checkArity('dot', inputs, 2);
    const [a, b] = inputs as [Aval, Aval];
    checkNumeric('dot', a);
    const r = a.shape.length;
    const ok =
      r >= 2 &&
      b.shape.length === r &&
      a.dtype === b.dtype &&
      a.shape.slice(0, r - 2).every((d, i) => d === b.shape[i]) &&
      a.shape[r - 1] === b.shape[r - 2];
    if (!ok)
      fail('dot', `expected [...B, M, K] x [...B, K, N] of one dtype, got ${a.dtype}${fmtShape(a.shape)} and ${b.dtype}${fmtShape(b.shape)}`);
    return { shape: [...a.shape.slice(0, r - 1), b.shape[r - 1]!], dtype: a.dtype };
  },
  reference([a, b], _p, out) {
    const r = a!.shape.length;
    const [M, K, N] = [a!.shape[r - 2]!, a!.shape[r - 1]!, b!.shape[r - 1]!];
    const batch = sizeOf(a!.shape.slice(0, r - 2));
    const res = allocArray(out.dtype, batch * M * N);
    const A = a!.data;
    const B = b!.data;
    for (let q = 0; q < batch; q++)
      for (let i = 0; i < M; i++)
        for (let j = 0; j < N; j++) {
          let acc = 0;
          for (let k = 0; k < K; k++) acc += A[q * M * K + i * K + k]! * B[q * K * N + k * N + j]!;
          res[q * M * N + i * N + j] = acc;
        }
    return res;
  },
  // dA = dC B^T, dB = A^T dC
  vjp: (i, ct, [a, b]) => (i === 0 ? P.dot(ct, P.swapLastTwo(b!)) : P.dot(P.swapLastTwo(a!), ct)),
};

/** Output spatial size of a convolution along one axis. */
export function convOutSize(n: number, k: number, stride: number, lo: number, hi: number, dilation: number): number {
  return Math.floor((n + lo + hi - dilation * (k - 1) - 1) / stride) + 1;
}

function checkConvParams(op: string, p: ConvParams): void {
  const pos = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
  const nat = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  check(
    p.stride?.length === 2 && p.stride.every(pos) && p.dilation?.length === 2 && p.dilation.every(pos) && pos(p.groups),
    op,
    () => `stride and dilation must be two positive integers and groups a positive integer, got stride=${JSON.stringify(p.stride)} dilation=${JSON.stringify(p.dilation)} groups=${p.groups}`,
  );
  check(
    p.padding?.length === 2 && p.padding.every((q) => q.length === 2 && q.every(nat)),
    op,
    () => `padding must be [[top, bottom], [left, right]] of non-negative integers, got ${JSON.stringify(p.padding)}`,
  );
}

/** Checks x [N, C, H, W] against w [O, C/groups, KH, KW] and gives the output shape. */
export function convOutputShape(op: string, x: readonly number[], w: readonly number[], p: ConvParams): number[] {
  checkConvParams(op, p);
  check(x.length === 4, op, () => `expected input of rank 4 (NCHW), got shape ${fmtShape(x)}`);
  check(w.length === 4, op, () => `expected weights of rank 4 (OIHW), got shape ${fmtShape(w)}`);
  const [N, C, H, W] = x as [number, number, number, number];
  const [O, I, KH, KW] = w as [number, number, number, number];
  check(C === I * p.groups, op, () =>
    `input has ${C} channels but weights ${fmtShape(w)} with groups=${p.groups} expect ${I * p.groups}`,
  );
  check(O % p.groups === 0, op, () => `output channels ${O} are not divisible by groups=${p.groups}`);
  const OH = convOutSize(H, KH, p.stride[0], p.padding[0][0], p.padding[0][1], p.dilation[0]);
  const OW = convOutSize(W, KW, p.stride[1], p.padding[1][0], p.padding[1][1], p.dilation[1]);
  check(OH >= 1 && OW >= 1, op, () =>
    `the (dilated) kernel ${KH}x${KW} does not fit the padded input ${fmtShape(x)} (output would be ${OH}x${OW})`,
  );
  return [N, O, OH, OW];
}

/**
 * Accumulates every term of the convolution sum y[n,o,oh,ow] += x[n,ci,ih,iw] * w[o,c,kh,kw]
 * (ci = group * C/groups + c, ih = oh*stride - pad + kh*dilation) into one of the three
 * operands: 'y' computes the convolution, 'x' its input gradient (from dy and w), 'w' its
 * weight gradient (from x and dy). One loop nest serves all three, so they cannot disagree.
 */
/** Stands for the operand a mode does not read. */
const NONE = new Float32Array(0);

function convTerms(
  into: 'y' | 'x' | 'w',
  xs: readonly number[],
  ws: readonly number[],
  ys: readonly number[],
  p: ConvParams,
  X: TypedArray,
  W: TypedArray,
  Y: TypedArray,
  acc: Float64Array,
): void {
  const [N, C, H, Wd] = xs as [number, number, number, number];
  const [O, Cg, KH, KW] = ws as [number, number, number, number];
  const [, , OH, OW] = ys as [number, number, number, number];
  const Og = O / p.groups;
  const [sh, sw] = p.stride;
  const [dh, dw] = p.dilation;
  const [ph, pw] = [p.padding[0][0], p.padding[1][0]];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const yi = ((n * O + o) * OH + oh) * OW + ow;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * sh - ph + kh * dh;
              if (ih < 0 || ih >= H) continue;
              const xRow = ((n * C + g * Cg + c) * H + ih) * Wd;
              const wRow = ((o * Cg + c) * KH + kh) * KW;
              for (let kw = 0; kw < KW; kw++) {
                const iw = ow * sw - pw + kw * dw;
                if (iw < 0 || iw >= Wd) continue;
                const xi = xRow + iw;
                const wi = wRow + kw;
                if (into === 'y') acc[yi]! += X[xi]! * W[wi]!;
                else if (into === 'x') acc[xi]! += Y[yi]! * W[wi]!;
                else acc[wi]! += X[xi]! * Y[yi]!;
              }
            }
        }
    }
}

function accumulate(out: Aval, size: number, visit: (acc: Float64Array) => void) {
  const acc = new Float64Array(size);
  visit(acc);
  const res = allocArray(out.dtype, size);
  res.set(acc);
  return res;
}

function convInputs(op: string, inputs: readonly Aval[]): void {
  checkArity(op, inputs, 2);
  checkFloat(op, inputs[0]!);
  check(inputs[0]!.dtype === inputs[1]!.dtype, op, () => `operands must share a dtype, got ${inputs[0]!.dtype} and ${inputs[1]!.dtype}`);
}

// The three convolution primitives are the partial derivatives of one trilinear form
// T(x, w, dy) = <dy, conv2d(x, w)>, so each one's VJP is another of the three.

export const conv2d: PrimitiveDef<'conv2d'> = {
  kind: 'library',
  shape(inputs, p) {
    convInputs('conv2d', inputs);
    return { shape: convOutputShape('conv2d', inputs[0]!.shape, inputs[1]!.shape, p), dtype: inputs[0]!.dtype };
  },
  reference([x, w], p, out) {
    return accumulate(out, sizeOf(out.shape), (y) => convTerms('y', x!.shape, w!.shape, out.shape, p, x!.data, w!.data, NONE, y));
  },
  vjp: (i, ct, [x, w], _y, p) =>
    i === 0 ? P.conv2dInputGrad(ct, w!, convOnly(p), x!.shape) : P.conv2dWeightGrad(x!, ct, convOnly(p), w!.shape),
};

function checkGradShapes(op: string, x: readonly number[], w: readonly number[], dy: readonly number[], p: ConvParams) {
  const expected = convOutputShape(op, x, w, p);
  check(expected.every((d, i) => d === dy[i]) && dy.length === 4, op, () =>
    `output gradient has shape ${fmtShape(dy)} but a convolution of ${fmtShape(x)} by ${fmtShape(w)} gives ${fmtShape(expected)}`,
  );
}

const convOnly = (p: ConvParams): ConvParams => ({ stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups });

export const conv2dInputGrad: PrimitiveDef<'conv2dInputGrad'> = {
  kind: 'library',
  shape(inputs, p) {
    convInputs('conv2dInputGrad', inputs);
    checkGradShapes('conv2dInputGrad', p.inputShape, inputs[1]!.shape, inputs[0]!.shape, p);
    return { shape: [...p.inputShape], dtype: inputs[0]!.dtype };
  },
  reference([dy, w], p, out) {
    return accumulate(out, sizeOf(out.shape), (dx) => convTerms('x', p.inputShape, w!.shape, dy!.shape, p, NONE, w!.data, dy!.data, dx));
  },
  vjp: (i, ct, [dy, w], _y, p) =>
    i === 0 ? P.conv2d(ct, w!, convOnly(p)) : P.conv2dWeightGrad(ct, dy!, convOnly(p), w!.shape),
};

export const conv2dWeightGrad: PrimitiveDef<'conv2dWeightGrad'> = {
  kind: 'library',
  shape(inputs, p) {
    convInputs('conv2dWeightGrad', inputs);
    checkGradShapes('conv2dWeightGrad', inputs[0]!.shape, p.weightShape, inputs[1]!.shape, p);
    return { shape: [...p.weightShape], dtype: inputs[0]!.dtype };
  },
  reference([x, dy], p, out) {
    return accumulate(out, sizeOf(out.shape), (dw) => convTerms('w', x!.shape, p.weightShape, dy!.shape, p, x!.data, NONE, dy!.data, dw));
  },
  vjp: (i, ct, [x, dy], _y, p) =>
    i === 0 ? P.conv2dInputGrad(dy!, ct, convOnly(p), x!.shape) : P.conv2d(x!, ct, convOnly(p)),
};

export type { RefArray };
