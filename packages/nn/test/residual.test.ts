// Identity-shortcut invariants of the paper (section 3.2), as properties over random shapes,
// channel counts and depths:
// (a) a residual block whose last BN scale is 0 is exactly relu(shortcut(x)), hence the
//     identity on non-negative inputs, in training and in evaluation mode;
// (b) option A puts x[:, :, ::2, ::2] in the first channels and exact zeros in the rest;
// (c) the gradient through k such blocks reaches the input equal to the upstream gradient.
// Plain blocks (the same layers without the shortcut) have none of these properties.
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { random, type Tensor, tensor, vjp } from '@resgrad/core';
import {
  basicBlock, batchNorm, conv2d, type Layer, projection, relu, residual, serial, shortcutFor, subsampleAndPad,
} from '@resgrad/nn';
import { randArray, seedArb, sizeOf } from './helpers.js';

const arr = (t: Tensor) => Array.from(t.data());

/** Host reference of option A: x[:, :, ::s, ::s] followed by `extra` zero channels. */
function subsamplePadRef(x: Float64Array | Float32Array, [N, C, H, W]: number[], extra: number, s: number) {
  const OH = Math.ceil(H! / s);
  const OW = Math.ceil(W! / s);
  const OC = C! + extra;
  const out = new Float64Array(N! * OC * OH * OW);
  for (let n = 0; n < N!; n++)
    for (let c = 0; c < C!; c++)
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) out[((n * OC + c) * OH + i) * OW + j] = x[((n * C! + c) * H! + i * s) * W! + j * s]!;
  return { data: out, shape: [N!, OC, OH, OW] };
}

const reluArr = (a: ArrayLike<number>) => Array.from(a, (v) => Math.max(v, 0));

/** A zero-initialised basic block (the paper's two 3x3 convs, last BN scale 0). */
const zeroBlock = (inC: number, outC: number, stride: number, shortcut: 'A' | 'B' | 'C' = 'A') =>
  basicBlock(inC, outC, stride, { shortcut, plain: false, zeroInitResidual: true });

/** F = conv-BN-ReLU-conv-BN(scale 0), and the block residual(F) with the identity shortcut. */
const zeroF = (c: number) =>
  serial({
    conv1: conv2d(c, 3, { padding: 1 }),
    bn1: batchNorm(),
    relu1: relu(),
    conv2: conv2d(c, 3, { padding: 1 }),
    bn2: batchNorm({ scaleInit: 0 }),
  });

const shapeArb = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  c: fc.integer({ min: 1, max: 4 }),
  h: fc.integer({ min: 1, max: 5 }),
  w: fc.integer({ min: 1, max: 5 }),
});

describe('(a) a block whose last BN scale is 0 equals relu(shortcut(x))', () => {
  test.prop([shapeArb, fc.integer({ min: 0, max: 4 }), fc.constantFrom(1, 2), fc.boolean(), seedArb], { numRuns: 25 })(
    'basicBlock with zeroInitResidual and option A, any shape and stride, train and eval',
    ({ n, c, h, w }, extra, stride, train, seed) => {
      const outC = c + extra;
      const block = zeroBlock(c, outC, stride, 'A');
      const shape = [n, c, h, w];
      const { params, state, outputShape } = block.init(random.key(seed), shape);
      const xs = Float32Array.from(randArray(sizeOf(shape), seed + 1, -1, 1));
      const x = tensor(xs, { shape });
      const [y] = block.apply(params, state, x, { train });
      const ref = subsamplePadRef(xs, shape, extra, stride);
      expect(y.shape).toEqual(ref.shape);
      expect(outputShape).toEqual(ref.shape);
      // Exactly, not approximately: F(x) is 0 * finite + 0.
      expect(arr(y)).toEqual(reluArr(ref.data));
    },
  );

  test.prop([shapeArb, fc.integer({ min: 1, max: 3 }), fc.constantFrom(1, 2), fc.constantFrom('B' as const, 'C' as const), fc.boolean(), seedArb], {
    numRuns: 15,
  })('basicBlock with zeroInitResidual and a projection shortcut (B, C) equals relu(projection(x))', ({ n, c, h, w }, extra, stride, option, train, seed) => {
    const outC = c + extra;
    const block = zeroBlock(c, outC, stride, option);
    const shape = [n, c, h, w];
    const { params, state } = block.init(random.key(seed), shape);
    expect(Object.keys(params)).toContain('downsample');
    const x = tensor(Float32Array.from(randArray(sizeOf(shape), seed + 1, -1, 1)), { shape });
    const [y] = block.apply(params, state, x, { train });
    const sc = projection(outC, stride);
    const [s] = sc.apply(params.downsample as never, state.downsample as never, x, { train });
    expect(arr(y)).toEqual(reluArr(arr(s)));
  });

  test.prop([shapeArb, fc.integer({ min: 1, max: 6 }), fc.boolean(), seedArb], { numRuns: 20 })(
    'a stack of d residual(F) blocks with the identity shortcut is the identity on non-negative inputs',
    ({ n, c, h, w }, depth, train, seed) => {
      const net = serial(Array.from({ length: depth }, () => residual(zeroF(c))));
      const shape = [n, c, h, w];
      const { params, state } = net.init(random.key(seed), shape);
      const xs = Float32Array.from(randArray(sizeOf(shape), seed + 7, 0, 2));
      xs[0] = 0; // zero itself is a non-negative input
      const x = tensor(xs, { shape });
      const [y, newState] = net.apply(params, state, x, { train });
      expect(y.shape).toEqual(shape);
      expect(arr(y)).toEqual(Array.from(xs));
      // The state keeps its structure (running statistics of every BN).
      expect(Object.keys(newState)).toEqual(Object.keys(state));
    },
  );

  it('on inputs of any sign, the zero block is relu(x), not x', () => {
    const block = zeroBlock(2, 2, 1);
    const shape = [1, 2, 3, 3];
    const { params, state } = block.init(random.key(1), shape);
    const xs = Float32Array.from(randArray(18, 5, -1, 1));
    const [y] = block.apply(params, state, tensor(xs, { shape }), { train: true });
    expect(arr(y)).toEqual(reluArr(xs));
    expect(arr(y)).not.toEqual(Array.from(xs));
  });
});

describe('(b) option A: subsample and zero-pad', () => {
  test.prop([shapeArb, fc.integer({ min: 0, max: 5 }), fc.constantFrom(1, 2, 3), seedArb])(
    'subsampleAndPad(extra, s) puts x[:, :, ::s, ::s] first and exact zeros in the new channels',
    ({ n, c, h, w }, extra, s, seed) => {
      const shape = [n, c, h, w];
      const xs = Float32Array.from(randArray(sizeOf(shape), seed, -3, 3));
      const layer = subsampleAndPad(extra, s);
      const init = layer.init(random.key(0), shape);
      expect(init.params).toEqual({});
      expect(init.state).toEqual({});
      const [y] = layer.apply(init.params, init.state, tensor(xs, { shape }), { train: true });
      const ref = subsamplePadRef(xs, shape, extra, s);
      expect(y.shape).toEqual(ref.shape);
      expect(init.outputShape).toEqual(ref.shape);
      const yd = arr(y);
      expect(yd).toEqual(Array.from(ref.data));
      // The padded channels are exact (positive) zeros.
      const [, OC, OH, OW] = ref.shape as [number, number, number, number];
      for (let b = 0; b < n; b++)
        for (let ch = c; ch < OC; ch++)
          for (let k = 0; k < OH * OW; k++) expect(Object.is(yd[(b * OC + ch) * OH * OW + k], 0)).toBe(true);
    },
  );

  test.prop([shapeArb, fc.integer({ min: 0, max: 4 }), seedArb])("shortcutFor('A', in, out, 2) is option A with out - in zero channels", ({ n, c, h, w }, extra, seed) => {
    const shape = [n, c, h, w];
    const sc = shortcutFor('A', c, c + extra, 2)!;
    expect(sc).toBeDefined();
    const init = sc.init(random.key(0), shape);
    expect(init.params).toEqual({});
    const xs = Float32Array.from(randArray(sizeOf(shape), seed, -1, 1));
    const [y] = sc.apply(init.params, init.state, tensor(xs, { shape }), { train: false });
    expect(arr(y)).toEqual(Array.from(subsamplePadRef(xs, shape, extra, 2).data));
  });

  it('option A is the plain identity where the shape is kept, and cannot shrink channels', () => {
    expect(shortcutFor('A', 16, 16, 1)).toBeUndefined();
    expect(shortcutFor('B', 16, 16, 1)).toBeUndefined();
    expect(shortcutFor('C', 16, 16, 1)).toBeDefined();
    expect(shortcutFor('B', 16, 32, 2)).toBeDefined();
    expect(() => shortcutFor('A', 32, 16, 2)).toThrow(/cannot shrink/);
    expect(() => shortcutFor('D' as never, 16, 32, 2)).toThrow(/'A', 'B' or 'C'/);
  });

  it('option A adds no parameters to a block', () => {
    const a = zeroBlock(16, 32, 2, 'A').init(random.key(0), [1, 16, 4, 4]);
    expect(Object.keys(a.params)).not.toContain('downsample');
    const b = zeroBlock(16, 32, 2, 'B').init(random.key(0), [1, 16, 4, 4]);
    expect(Object.keys(b.params)).toContain('downsample');
  });
});

/** The input gradient of `net` at x for the upstream gradient u. */
function inputGrad(net: Layer, params: never, state: never, x: Tensor, u: Tensor, train: boolean): Tensor {
  const [, back] = vjp((xx: Tensor) => net.apply(params, state, xx, { train })[0], x);
  return back(u)[0] as Tensor;
}

describe('(c) the gradient through k zero blocks reaches the input unchanged', () => {
  const shape = [1, 2, 3, 3];

  const check = (k: number, train: boolean, seed: number) => {
    const net = serial(Array.from({ length: k }, () => zeroBlock(2, 2, 1)));
    const { params, state } = net.init(random.key(seed), shape);
    // Strictly positive inputs: relu's gradient at 0 is 0.
    const x = tensor(Float32Array.from(randArray(18, seed + 1, 0.1, 1)), { shape });
    const u = tensor(Float32Array.from(randArray(18, seed + 2, -1, 1)), { shape });
    const gx = inputGrad(net, params as never, state as never, x, u, train);
    expect(arr(gx)).toEqual(arr(u));
  };

  test.prop([fc.integer({ min: 1, max: 100 }), fc.boolean(), seedArb], { numRuns: 12 })('k blocks, k in [1, 100]', (k, train, seed) => check(k, train, seed));

  it('exactly 100 blocks, training mode', () => check(100, true, 3));

  it('also with the BN parameters and the conv weights receiving gradients', () => {
    // The gradient w.r.t. x stays the identity while F's own parameters get gradients.
    const net = serial(Array.from({ length: 3 }, () => residual(zeroF(2))));
    const { params, state } = net.init(random.key(9), shape);
    const x = tensor(Float32Array.from(randArray(18, 10, 0.1, 1)), { shape });
    const u = tensor(Float32Array.from(randArray(18, 11, -1, 1)), { shape });
    const [, back] = vjp((p: typeof params, xx: Tensor) => net.apply(p, state, xx, { train: true })[0], params, x);
    const [gp, gx] = back(u) as [Record<string, Record<string, Record<string, Tensor>>>, Tensor];
    expect(arr(gx)).toEqual(arr(u));
    // The zero scale gets a gradient (so training can move it), the conv before it does not yet.
    expect(arr(gp['0']!.bn2!.weight!).some((v) => v !== 0)).toBe(true);
    expect(arr(gp['0']!.conv2!.weight!).every((v) => v === 0)).toBe(true);
  });
});

describe('plain blocks (no shortcut) do not have these properties', () => {
  const shape = [1, 2, 3, 3];

  it('a plain basic block is not the identity on non-negative inputs, and zeroInitResidual does not apply to it', () => {
    const block = basicBlock(2, 2, 1, { shortcut: 'A', plain: true, zeroInitResidual: true });
    const { params, state } = block.init(random.key(2), shape);
    expect(Object.keys(params)).not.toContain('downsample');
    expect(arr((params.bn2 as Record<string, Tensor>).weight!)).toEqual([1, 1]);
    const xs = Float32Array.from(randArray(18, 3, 0.1, 1));
    const [y] = block.apply(params, state, tensor(xs, { shape }), { train: true });
    expect(arr(y)).not.toEqual(Array.from(xs));
  });

  it('the gradient through k plain blocks is not the upstream gradient', () => {
    for (const k of [1, 10]) {
      const net = serial(Array.from({ length: k }, () => basicBlock(2, 2, 1, { shortcut: 'A', plain: true, zeroInitResidual: false })));
      const { params, state } = net.init(random.key(k), shape);
      const x = tensor(Float32Array.from(randArray(18, 4, 0.1, 1)), { shape });
      const u = tensor(Float32Array.from(randArray(18, 5, -1, 1)), { shape });
      const gx = arr(inputGrad(net, params as never, state as never, x, u, true));
      const ua = arr(u);
      const diff = Math.max(...gx.map((g, i) => Math.abs(g - ua[i]!)));
      expect(diff).toBeGreaterThan(1e-2);
    }
  });

  it('the same F with a zero last BN scale, without the shortcut, outputs 0 and passes no gradient', () => {
    // relu(F(x)) with F = 0 kills the signal; relu(F(x) + x) keeps it: the paper's argument.
    for (const [net, identity] of [
      [serial({ F: zeroF(2), relu: relu() }), false],
      [residual(zeroF(2)), true],
    ] as const) {
      const { params, state } = net.init(random.key(6), shape);
      const xs = Float32Array.from(randArray(18, 7, 0.1, 1));
      const x = tensor(xs, { shape });
      const u = tensor(Float32Array.from(randArray(18, 8, -1, 1)), { shape });
      const [y] = net.apply(params, state, x, { train: true });
      const gx = inputGrad(net, params as never, state as never, x, u, true);
      if (identity) {
        expect(arr(y)).toEqual(Array.from(xs));
        expect(arr(gx)).toEqual(arr(u));
      } else {
        expect(arr(y).every((v) => v === 0)).toBe(true);
        expect(arr(gx).every((v) => v === 0)).toBe(true);
      }
    }
  });
});
