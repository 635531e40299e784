// Library kernels against core's reference implementations, on random shapes and
// parameters (fast-check, fixed global seed): GEMM with every micro-kernel this CPU has,
// transposes, batches and accumulation; conv2d and both gradients with stride, padding,
// dilation and groups, in float32 and float64.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { conv2d, conv2dInputGrad, conv2dWeightGrad, dot, findCompiler, gemm, loadRuntime } from '@resgrad/backend-cpu';
import { bilinearError, randomArray, ref, reference, type ConvParams, type F } from './helpers/ref.js';

const hasCompiler = !('unavailable' in findCompiler());
const TOL = { float32: 1e-5, float64: 1e-12 } as const;

/** Materialises op(X) (a transpose of the last two axes when t) as a dense batch. */
function transposeBatch(x: F, batch: number, rows: number, cols: number): F {
  const y = x.slice();
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[b * rows * cols + j * rows + i] = x[b * rows * cols + i * cols + j]!;
  return y;
}

interface GemmCase {
  batch: number; M: number; N: number; K: number; ta: boolean; tb: boolean; acc: boolean; seed: number; dtype: 'float32' | 'float64';
}

function checkGemm(c: GemmCase): void {
  const { batch, M, N, K } = c;
  // Stored operands: A is M x K, or K x M when transposed; likewise B.
  const a = randomArray(batch * M * K, c.seed, c.dtype);
  const b = randomArray(batch * K * N, c.seed + 1, c.dtype);
  const c0 = randomArray(batch * M * N, c.seed + 2, c.dtype);
  const out = c0.slice();
  gemm({ batch, M, N, K, a, b, c: out, transA: c.ta, transB: c.tb, accumulate: c.acc });
  const opA = c.ta ? transposeBatch(a, batch, K, M) : a;
  const opB = c.tb ? transposeBatch(b, batch, N, K) : b;
  const r = reference('dot', ref(opA, [batch, M, K]), ref(opB, [batch, K, N]), {});
  const want = c.acc ? r.want.map((v, i) => v + c0[i]!) : r.want;
  const bound = c.acc ? r.bound.map((v, i) => v + Math.abs(c0[i]!)) : r.bound;
  expect(bilinearError(out, want, bound)).toBeLessThan(TOL[c.dtype]);
}

const gemmCase = (dtype: 'float32' | 'float64', maxDim: number) =>
  fc.record({
    batch: fc.integer({ min: 1, max: 3 }),
    M: fc.integer({ min: 1, max: maxDim }),
    N: fc.integer({ min: 1, max: maxDim }),
    K: fc.integer({ min: 1, max: maxDim }),
    ta: fc.boolean(),
    tb: fc.boolean(),
    acc: fc.boolean(),
    seed: fc.nat(1 << 20),
    dtype: fc.constant(dtype),
  });

describe.skipIf(!hasCompiler)('gemm', () => {
  const rt = hasCompiler ? loadRuntime() : undefined;
  afterAll(() => rt?.fns.rg_gemm_select(0));
  const variants = ([[1, 'portable'], [2, 'avx2'], [3, 'avx512']] as const).filter(([w]) => rt?.fns.rg_gemm_select(w) !== null);
  rt?.fns.rg_gemm_select(0);

  for (const [which, name] of variants) {
    it(`float32 with the ${name} micro-kernel matches the reference dot`, () => {
      expect(rt!.fns.rg_gemm_select(which)).toContain(name);
      fc.assert(fc.property(gemmCase('float32', 70), checkGemm));
      // Edges of every blocking level: K across KC (256), M across MC (144), N across NC (2048).
      checkGemm({ batch: 1, M: 150, N: 70, K: 600, ta: false, tb: false, acc: false, seed: 1, dtype: 'float32' });
      checkGemm({ batch: 2, M: 37, N: 45, K: 300, ta: true, tb: true, acc: true, seed: 2, dtype: 'float32' });
      checkGemm({ batch: 1, M: 3, N: 2100, K: 5, ta: false, tb: true, acc: false, seed: 3, dtype: 'float32' });
      rt!.fns.rg_gemm_select(0);
    });
  }

  it('float64 matches the reference dot', () => {
    fc.assert(fc.property(gemmCase('float64', 40), checkGemm));
  });

  it('dot handles batch dimensions and strided views need no copies', () => {
    const a = randomArray(2 * 3 * 4 * 5, 9, 'float32');
    const b = randomArray(2 * 3 * 5 * 6, 10, 'float32');
    const got = dot(a, [2, 3, 4, 5], b, [2, 3, 5, 6]);
    const r = reference('dot', ref(a, [6, 4, 5]), ref(b, [6, 5, 6]), {});
    expect(got.shape).toEqual([2, 3, 4, 6]);
    expect(bilinearError(got.data, r.want, r.bound)).toBeLessThan(1e-5);
    // A broadcast operand (batch stride 0) and a sub-block of a wider matrix (ld > cols).
    const wide = randomArray(8 * 10, 11, 'float32');
    const c = new Float32Array(2 * 8 * 6);
    gemm({ batch: 2, M: 8, N: 6, K: 5, a: wide, lda: 10, strideA: 0, b: b.subarray(0, 2 * 30), c });
    const sub = new Float32Array(8 * 5).map((_, i) => wide[Math.floor(i / 5) * 10 + (i % 5)]!);
    for (let q = 0; q < 2; q++) {
      const rq = reference('dot', ref(sub, [8, 5]), ref(b.slice(q * 30, q * 30 + 30), [5, 6]), {});
      expect(bilinearError(c.subarray(q * 48, q * 48 + 48), rq.want, rq.bound)).toBeLessThan(1e-5);
    }
  });

  it('rejects operands too small for the shapes', () => {
    const a = new Float32Array(10);
    expect(() => gemm({ M: 4, N: 4, K: 4, a, b: a, c: a })).toThrow(/a has 10 elements, needs 16/);
  });
});

interface ConvCase {
  N: number; G: number; Cg: number; Og: number; H: number; W: number; KH: number; KW: number;
  sh: number; sw: number; dh: number; dw: number; pt: number; pb: number; pl: number; pr: number; seed: number;
}

const outSize = (n: number, k: number, s: number, lo: number, hi: number, d: number) => Math.floor((n + lo + hi - d * (k - 1) - 1) / s) + 1;

const convCase = fc
  .record({
    N: fc.integer({ min: 1, max: 3 }),
    G: fc.integer({ min: 1, max: 2 }),
    Cg: fc.integer({ min: 1, max: 4 }),
    Og: fc.integer({ min: 1, max: 4 }),
    H: fc.integer({ min: 1, max: 9 }),
    W: fc.integer({ min: 1, max: 9 }),
    KH: fc.integer({ min: 1, max: 3 }),
    KW: fc.integer({ min: 1, max: 3 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    dh: fc.integer({ min: 1, max: 2 }),
    dw: fc.integer({ min: 1, max: 2 }),
    pt: fc.integer({ min: 0, max: 2 }),
    pb: fc.integer({ min: 0, max: 2 }),
    pl: fc.integer({ min: 0, max: 2 }),
    pr: fc.integer({ min: 0, max: 2 }),
    seed: fc.nat(1 << 20),
  })
  .filter((c) => outSize(c.H, c.KH, c.sh, c.pt, c.pb, c.dh) >= 1 && outSize(c.W, c.KW, c.sw, c.pl, c.pr, c.dw) >= 1);

function checkConv(c: ConvCase, dtype: 'float32' | 'float64'): void {
  const p: ConvParams = { stride: [c.sh, c.sw], padding: [[c.pt, c.pb], [c.pl, c.pr]], dilation: [c.dh, c.dw], groups: c.G };
  const xs = [c.N, c.G * c.Cg, c.H, c.W];
  const ws = [c.G * c.Og, c.Cg, c.KH, c.KW];
  const ys = [c.N, c.G * c.Og, outSize(c.H, c.KH, c.sh, c.pt, c.pb, c.dh), outSize(c.W, c.KW, c.sw, c.pl, c.pr, c.dw)];
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = randomArray(size(xs), c.seed, dtype);
  const w = randomArray(size(ws), c.seed + 1, dtype);
  const dy = randomArray(size(ys), c.seed + 2, dtype);

  const y = conv2d(x, xs, w, ws, p);
  const ry = reference('conv2d', ref(x, xs), ref(w, ws), p);
  expect(y.shape).toEqual(ry.shape);
  expect(bilinearError(y.data, ry.want, ry.bound)).toBeLessThan(TOL[dtype]);

  const dx = conv2dInputGrad(dy, ys, w, ws, p, xs);
  const rdx = reference('conv2dInputGrad', ref(dy, ys), ref(w, ws), { ...p, inputShape: xs });
  expect(bilinearError(dx.data, rdx.want, rdx.bound)).toBeLessThan(TOL[dtype]);

  const dwt = conv2dWeightGrad(x, xs, dy, ys, p, ws);
  const rdw = reference('conv2dWeightGrad', ref(x, xs), ref(dy, ys), { ...p, weightShape: ws });
  expect(bilinearError(dwt.data, rdw.want, rdw.bound)).toBeLessThan(TOL[dtype]);
}

describe.skipIf(!hasCompiler)('conv2d, conv2dInputGrad, conv2dWeightGrad', () => {
  for (const dtype of ['float32', 'float64'] as const)
    it(`match the reference on random shapes and parameters (${dtype})`, () => {
      fc.assert(fc.property(convCase, (c) => checkConv(c, dtype)));
    });

  it('match the reference on ResNet-20-like shapes (3x3, pad 1, stride 1 and 2)', () => {
    const base = { G: 1, KH: 3, KW: 3, dh: 1, dw: 1, pt: 1, pb: 1, pl: 1, pr: 1, seed: 5 };
    checkConv({ ...base, N: 4, Cg: 16, Og: 16, H: 8, W: 8, sh: 1, sw: 1 }, 'float32');
    checkConv({ ...base, N: 3, Cg: 16, Og: 32, H: 8, W: 8, sh: 2, sw: 2 }, 'float32');
    checkConv({ ...base, N: 2, Cg: 3, Og: 16, H: 12, W: 12, sh: 1, sw: 1 }, 'float32');
    // 1x1 stride 1, unpadded: the path without im2col.
    checkConv({ ...base, N: 3, Cg: 8, Og: 12, H: 5, W: 7, KH: 1, KW: 1, sh: 1, sw: 1, pt: 0, pb: 0, pl: 0, pr: 0 }, 'float32');
  });

  it('match the reference on the direct 3x3 kernels (stride 1, pad 1, rows of 8, 16 or 32 pixels)', () => {
    // conv_direct.h on AVX-512 machines when there are at least as many images as threads.
    const base = { G: 1, KH: 3, KW: 3, dh: 1, dw: 1, pt: 1, pb: 1, pl: 1, pr: 1, sh: 1, sw: 1, seed: 11 };
    const N = Math.max(2, loadRuntime().threads);
    checkConv({ ...base, N, Cg: 16, Og: 16, H: 32, W: 32 }, 'float32');
    checkConv({ ...base, N, Cg: 8, Og: 12, H: 16, W: 16 }, 'float32');
    checkConv({ ...base, N, Cg: 3, Og: 16, H: 6, W: 32 }, 'float32'); // dgrad: 3 channels, the GEMM path
    checkConv({ ...base, N: N + 1, Cg: 5, Og: 4, H: 8, W: 16 }, 'float32');
    checkConv({ ...base, N, Cg: 8, Og: 8, H: 8, W: 8 }, 'float32'); // two rows per vector, masked loads
    checkConv({ ...base, N, Cg: 3, Og: 4, H: 16, W: 8 }, 'float32');
    // Several images per weight-grad pass (8 at W = 8, 2 at W = 16), with a remainder.
    const T = loadRuntime().threads;
    checkConv({ ...base, N: 9 * T + 1, Cg: 4, Og: 4, H: 8, W: 8 }, 'float32');
    checkConv({ ...base, N: 3 * T + 1, Cg: 4, Og: 8, H: 16, W: 16 }, 'float32');
  });

  it('reject mismatched shapes with the op named', () => {
    const p: ConvParams = { stride: [1, 1], padding: [[0, 0], [0, 0]], dilation: [1, 1], groups: 1 };
    expect(() => conv2d(new Float32Array(16), [1, 1, 4, 4], new Float32Array(18), [1, 2, 3, 3], p)).toThrow(/conv2d/);
    expect(() => conv2d(new Float32Array(15), [1, 1, 4, 4], new Float32Array(9), [1, 1, 3, 3], p)).toThrow(/x has 15 elements/);
  });
});
