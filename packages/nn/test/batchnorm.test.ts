// BatchNorm against a direct computation written here with plain loops: training output (batch
// statistics, biased variance), the running-statistics update (momentum 0.1, unbiased variance
// for running_var, as PyTorch), evaluation output (running statistics), and its errors.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { random, ResgradError, type Tensor, tensor } from '@resgrad/core';
import { batchNorm, type ParamTree } from '@resgrad/nn';
import { f64, randArray, seedArb, sizeOf } from './helpers.js';

interface Ref {
  y: Float64Array;
  mean: Float64Array;
  /** Biased (population) variance, used to normalise. */
  varBiased: Float64Array;
  runningMean: Float64Array;
  runningVar: Float64Array;
}

/** Direct BatchNorm over every axis but 1, with plain loops. */
function bnRef(
  x: Float64Array, shape: readonly number[], w: Float64Array, b: Float64Array, rm: Float64Array, rv: Float64Array,
  o: { train: boolean; momentum?: number; eps?: number },
): Ref {
  const momentum = o.momentum ?? 0.1;
  const eps = o.eps ?? 1e-5;
  const N = shape[0]!;
  const C = shape[1]!;
  const inner = sizeOf(shape.slice(2));
  const count = N * inner;
  const at = (n: number, c: number, k: number) => (n * C + c) * inner + k;
  const mean = new Float64Array(C);
  const varBiased = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < inner; k++) s += x[at(n, c, k)]!;
    mean[c] = s / count;
    let q = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < inner; k++) q += (x[at(n, c, k)]! - mean[c]!) ** 2;
    varBiased[c] = q / count;
  }
  const useMean = o.train ? mean : rm;
  const useVar = o.train ? varBiased : rv;
  const y = new Float64Array(x.length);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let k = 0; k < inner; k++) {
        const i = at(n, c, k);
        y[i] = ((x[i]! - useMean[c]!) / Math.sqrt(useVar[c]! + eps)) * w[c]! + b[c]!;
      }
  const runningMean = new Float64Array(C);
  const runningVar = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    if (o.train) {
      runningMean[c] = (1 - momentum) * rm[c]! + momentum * mean[c]!;
      runningVar[c] = (1 - momentum) * rv[c]! + momentum * ((varBiased[c]! * count) / (count - 1));
    } else {
      runningMean[c] = rm[c]!;
      runningVar[c] = rv[c]!;
    }
  }
  return { y, mean, varBiased, runningMean, runningVar };
}

const t64 = (d: Float64Array, shape: readonly number[]) => tensor(d, { shape, dtype: 'float64' });

function expectClose(actual: Float64Array, expected: Float64Array, tol: number, what: string) {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(err <= tol)) expect.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]} (error ${err})`);
  }
}

/** A layer's parameters and state made directly, in float64 (weight, bias, running stats random). */
function setup(shape: readonly number[], seed: number) {
  const C = shape[1]!;
  const x = randArray(sizeOf(shape), seed, -2, 3);
  const w = randArray(C, seed + 1, 0.5, 2);
  const b = randArray(C, seed + 2, -1, 1);
  const rm = randArray(C, seed + 3, -0.5, 0.5);
  const rv = randArray(C, seed + 4, 0.5, 2);
  const params: ParamTree = { weight: t64(w, [C]), bias: t64(b, [C]) };
  const state: ParamTree = { running_mean: t64(rm, [C]), running_var: t64(rv, [C]) };
  return { x, w, b, rm, rv, params, state };
}

const shapeArb = fc.oneof(
  fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })).map((s) => [...s]),
  fc.tuple(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 5 })).map((s) => [...s]),
  fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 5 })).map((s) => [...s]),
);

describe('batchNorm training mode', () => {
  test.prop([shapeArb, seedArb])('output uses the batch mean and biased variance; running stats follow PyTorch', (shape, seed) => {
    const { x, w, b, rm, rv, params, state } = setup(shape, seed);
    const bn = batchNorm();
    const [y, s] = bn.apply(params, state, t64(x, shape), { train: true });
    const ref = bnRef(x, shape, w, b, rm, rv, { train: true });
    expect(y.shape).toEqual(shape);
    expect(y.dtype).toBe('float64');
    expectClose(f64(y), ref.y, 1e-12, 'y');
    expect(Object.keys(s).sort()).toEqual(['running_mean', 'running_var']);
    expectClose(f64(s.running_mean as Tensor), ref.runningMean, 1e-12, 'running_mean');
    expectClose(f64(s.running_var as Tensor), ref.runningVar, 1e-12, 'running_var');
  });

  test.prop([shapeArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 1e-6, max: 1, noNaN: true }), seedArb], { numRuns: 15 })(
    'custom momentum and eps',
    (shape, momentum, eps, seed) => {
      const { x, w, b, rm, rv, params, state } = setup(shape, seed);
      const [y, s] = batchNorm({ momentum, eps }).apply(params, state, t64(x, shape), { train: true });
      const ref = bnRef(x, shape, w, b, rm, rv, { train: true, momentum, eps });
      expectClose(f64(y), ref.y, 1e-12, 'y');
      expectClose(f64(s.running_mean as Tensor), ref.runningMean, 1e-12, 'running_mean');
      expectClose(f64(s.running_var as Tensor), ref.runningVar, 1e-12, 'running_var');
    },
  );

  it('three training steps compound the running averages', () => {
    const shape = [4, 3, 2, 2];
    const { w, b, params } = setup(shape, 1);
    let { state } = setup(shape, 1);
    let rm: Float64Array = Float64Array.from(f64(state.running_mean as Tensor));
    let rv: Float64Array = Float64Array.from(f64(state.running_var as Tensor));
    const bn = batchNorm();
    for (let step = 0; step < 3; step++) {
      const x = randArray(sizeOf(shape), 100 + step, -1, 4);
      const [y, s] = bn.apply(params, state, t64(x, shape), { train: true });
      const ref = bnRef(x, shape, w, b, rm, rv, { train: true });
      expectClose(f64(y), ref.y, 1e-12, `y at step ${step}`);
      rm = ref.runningMean;
      rv = ref.runningVar;
      state = s;
    }
    expectClose(f64(state.running_mean as Tensor), rm, 1e-12, 'running_mean after 3 steps');
    expectClose(f64(state.running_var as Tensor), rv, 1e-12, 'running_var after 3 steps');
  });

  it('a normalised output has per-channel mean 0 and biased variance ~1 with the default scale and shift', () => {
    const shape = [8, 2, 3, 3];
    const bn = batchNorm();
    const { params, state } = bn.init(random.key(0), shape);
    const x = randArray(sizeOf(shape), 9, 5, 9);
    const [y] = bn.apply(params, state, tensor(Float32Array.from(x), { shape }), { train: true });
    const ref = bnRef(Float64Array.from(y.data() as Float32Array), shape, new Float64Array([1, 1]), new Float64Array(2), new Float64Array(2), new Float64Array([1, 1]), { train: true });
    for (let c = 0; c < 2; c++) {
      expect(Math.abs(ref.mean[c]!)).toBeLessThan(1e-5);
      expect(Math.abs(ref.varBiased[c]! - 1)).toBeLessThan(1e-3);
    }
  });
});

describe('batchNorm evaluation mode', () => {
  test.prop([shapeArb, seedArb])('output uses the running statistics; the state is unchanged', (shape, seed) => {
    const { x, w, b, rm, rv, params, state } = setup(shape, seed);
    const [y, s] = batchNorm().apply(params, state, t64(x, shape), { train: false });
    const ref = bnRef(x, shape, w, b, rm, rv, { train: false });
    expectClose(f64(y), ref.y, 1e-12, 'y');
    expect(s.running_mean).toBe(state.running_mean);
    expect(s.running_var).toBe(state.running_var);
  });

  it('after training on a batch, evaluation on that batch uses the updated running stats, not the batch ones', () => {
    const shape = [4, 2, 3, 3];
    const { x, w, b, rm, rv, params, state } = setup(shape, 5);
    const bn = batchNorm();
    const [yTrain, s] = bn.apply(params, state, t64(x, shape), { train: true });
    const [yEval] = bn.apply(params, s, t64(x, shape), { train: false });
    const trained = bnRef(x, shape, w, b, rm, rv, { train: true });
    const ref = bnRef(x, shape, w, b, trained.runningMean, trained.runningVar, { train: false });
    expectClose(f64(yEval), ref.y, 1e-12, 'y (eval)');
    expect(Array.from(f64(yEval))).not.toEqual(Array.from(f64(yTrain)));
  });
});

describe('batchNorm init and errors', () => {
  it('init: weight 1 (or scaleInit), bias 0, running_mean 0, running_var 1, named as PyTorch', () => {
    const { params, state, outputShape } = batchNorm().init(random.key(0), [2, 3, 4, 4]);
    expect(Object.keys(params)).toEqual(['weight', 'bias']);
    expect(Object.keys(state)).toEqual(['running_mean', 'running_var']);
    expect(Array.from((params.weight as Tensor).data())).toEqual([1, 1, 1]);
    expect(Array.from((params.bias as Tensor).data())).toEqual([0, 0, 0]);
    expect(Array.from((state.running_mean as Tensor).data())).toEqual([0, 0, 0]);
    expect(Array.from((state.running_var as Tensor).data())).toEqual([1, 1, 1]);
    expect(outputShape).toEqual([2, 3, 4, 4]);
    expect(Array.from((batchNorm({ scaleInit: 0 }).init(random.key(0), [2, 3]).params.weight as Tensor).data())).toEqual([0, 0, 0]);
    expect(Array.from((batchNorm({ scaleInit: 0.5 }).init(random.key(0), [2, 3]).params.weight as Tensor).data())).toEqual([0.5, 0.5, 0.5]);
  });

  it('a channel mismatch names the layer and both channel counts, in training and evaluation', () => {
    const bn = batchNorm();
    const { params, state } = bn.init(random.key(0), [2, 4, 3, 3]);
    const x = tensor(new Float32Array(2 * 3 * 3 * 3), { shape: [2, 3, 3, 3] });
    for (const train of [true, false]) {
      let err: unknown;
      try {
        bn.apply(params, state, x, { train });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ResgradError);
      expect((err as Error).message).toBe('batchNorm: input has 3 channels but the layer was initialised for 4');
    }
  });

  it('rejects inputs without a channel axis and bad options', () => {
    expect(() => batchNorm().init(random.key(0), [5])).toThrow(/batchNorm: expected an input of rank >= 2 with channels on axis 1, got \[5\]/);
    const { params, state } = batchNorm().init(random.key(0), [2, 5]);
    expect(() => batchNorm().apply(params, state, tensor([1, 2, 3, 4, 5]), { train: true })).toThrow(/batchNorm: expected an input of rank >= 2, got shape \[5\]/);
    expect(() => batchNorm({ momentum: 1.5 })).toThrow(/batchNorm: momentum must be in \[0, 1\], got 1.5/);
    expect(() => batchNorm({ momentum: Number.NaN })).toThrow(/momentum/);
    expect(() => batchNorm({ eps: 0 })).toThrow(/batchNorm: eps must be positive, got 0/);
  });
});
