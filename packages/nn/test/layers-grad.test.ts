// Every layer's gradient, with respect to its input and its parameters, against central finite
// differences in float64. The loss is <layer(x), r> for a fixed random r, so every output
// element matters (a plain sum would give BatchNorm a zero input gradient).
import { describe, expect, it } from 'vitest';
import { cast, grad, random, sum, mul, type Tensor } from '@resgrad/core';
import {
  avgPool, basicBlock, batchNorm, conv2d, dropout, flatten, flattenNamed, globalAvgPool, type Layer, linear, mapTree, maxPool,
  type ParamTree, resnetCifar, serial,
} from '@resgrad/nn';
import { central, distinctTensor, f64, maxRelErr, perturb, perturbTree, pickIndices, randTensor } from './helpers.js';

interface CheckOptions {
  train?: boolean;
  key?: random.Key;
  /** The input; default uniform in [-1, 1). */
  x?: Tensor;
  /** Parameter leaves to check (dotted names); default all. */
  leaves?: string[];
  /** Entries checked per tensor. */
  perTensor?: number;
  h?: number;
  seed?: number;
}

interface CheckReport {
  /** Worst relative error per checked tensor ('x' for the input). */
  errors: Record<string, number>;
  checked: number;
}

/** Compares grad of <layer(params, x), r> w.r.t. x and params with central differences. */
function gradCheck(layer: Layer, inputShape: number[], o: CheckOptions = {}): CheckReport {
  const seed = o.seed ?? 1;
  const train = o.train ?? true;
  const h = o.h ?? 1e-5;
  const perTensor = o.perTensor ?? 12;
  const init = layer.init(random.key(seed), inputShape);
  const params = mapTree(init.params, (p) => cast(p, 'float64'));
  const state = mapTree(init.state, (p) => cast(p, 'float64'));
  const x = o.x ?? randTensor(inputShape, seed + 1);
  expect(x.dtype).toBe('float64');
  const opts = { train, key: o.key };
  const [y0] = layer.apply(params, state, x, opts);
  expect(y0.dtype).toBe('float64');
  expect(y0.shape).toEqual(init.outputShape);
  const r = randTensor(y0.shape, seed + 2);
  const loss = (p: ParamTree, xx: Tensor) => sum(mul(layer.apply(p, state, xx, opts)[0], r));
  const value = (p: ParamTree, xx: Tensor) => loss(p, xx).item();
  const [gp, gx] = grad(loss, { argnums: [0, 1] })(params, x) as [ParamTree, Tensor];

  const errors: Record<string, number> = {};
  let checked = 0;
  const compare = (name: string, g: Tensor, size: number, at: (i: number, d: number) => number) => {
    expect(g.dtype, name).toBe('float64');
    const idx = pickIndices(size, perTensor, seed + checked + 3);
    const ga = f64(g);
    const analytic = idx.map((i) => ga[i]!);
    const numeric = idx.map((i) => central((d) => at(i, d), h));
    // Entries far below the tensor's largest derivative are measured against a floor: 1e-3 of
    // that largest value, and at least 1e-4 (a central difference in float64 with h = 1e-5 has a
    // round-off of about 1e-11 times the loss).
    const scale = Math.max(...Array.from(ga, Math.abs));
    errors[name] = maxRelErr(analytic, numeric, Math.max(1e-3 * scale, 1e-4));
    checked += idx.length;
  };
  compare('x', gx, x.size, (i, d) => value(params, perturb(x, i, d)));
  const named = new Map(flattenNamed(gp));
  for (const [path, p] of flattenNamed(params)) {
    if (o.leaves && !o.leaves.includes(path)) continue;
    const g = named.get(path);
    expect(g, `gradient of ${path}`).toBeDefined();
    expect(g!.shape).toEqual(p.shape);
    compare(path, g!, p.size, (i, d) => value(perturbTree(params, path, i, d), x));
  }
  return { errors, checked };
}

const TOL = 1e-6;

function expectSmall(report: CheckReport, tol = TOL) {
  for (const [name, e] of Object.entries(report.errors)) expect(e, `relative error of d/d${name}`).toBeLessThan(tol);
}

describe('layer gradients against central finite differences (float64)', () => {
  it('conv2d: 3x3, padding 1', () => {
    const r = gradCheck(conv2d(3, 3, { padding: 1 }), [2, 2, 5, 5]);
    expect(Object.keys(r.errors)).toEqual(['x', 'weight']);
    expectSmall(r);
  });

  it('conv2d with bias, stride 2, asymmetric kernel', () => {
    const r = gradCheck(conv2d(4, [3, 2], { stride: 2, padding: 1, bias: true }), [2, 3, 6, 5]);
    expect(Object.keys(r.errors)).toEqual(['x', 'weight', 'bias']);
    expectSmall(r);
  });

  it('conv2d with groups and dilation', () => {
    expectSmall(gradCheck(conv2d(4, 3, { groups: 2, dilation: 2, padding: 2, bias: true }), [1, 4, 5, 5]));
  });

  it('conv2d 1x1 projection with stride 2 (the option B shortcut conv)', () => {
    expectSmall(gradCheck(conv2d(4, 1, { stride: 2 }), [2, 2, 5, 5]));
  });

  it('batchNorm in training mode (NCHW)', () => {
    const r = gradCheck(batchNorm(), [3, 2, 3, 3]);
    expect(Object.keys(r.errors)).toEqual(['x', 'weight', 'bias']);
    expectSmall(r);
  });

  it('batchNorm in training mode on [N, C] with non-trivial scale and shift', () => {
    // scaleInit 1.7 and a shifted input with small variance: the normalisation is far from identity.
    const x = randTensor([5, 3], 4, { lo: 2, hi: 2.5 });
    expectSmall(gradCheck(batchNorm({ scaleInit: 1.7 }), [5, 3], { x }));
  });

  it('batchNorm in evaluation mode', () => {
    expectSmall(gradCheck(batchNorm(), [2, 3, 2, 2], { train: false }));
  });

  it('linear (weight and bias)', () => {
    const r = gradCheck(linear(4), [3, 5]);
    expect(Object.keys(r.errors)).toEqual(['x', 'weight', 'bias']);
    expectSmall(r);
  });

  it('linear without bias on a rank-3 input', () => {
    expectSmall(gradCheck(linear(2, { bias: false }), [2, 3, 4]));
  });

  it('maxPool 2x2 on distinct values (no ties)', () => {
    const shape = [2, 2, 4, 4];
    expectSmall(gradCheck(maxPool(), shape, { x: distinctTensor(shape, 11), perTensor: 64 }));
  });

  it('maxPool 3x3 / 2 with padding 1 (overlapping windows, as the ImageNet stem)', () => {
    const shape = [1, 2, 5, 5];
    expectSmall(gradCheck(maxPool({ kernel: 3, stride: 2, padding: 1 }), shape, { x: distinctTensor(shape, 12), perTensor: 50 }));
  });

  it('avgPool 2x2 and 3x3 / 2 with padding 1', () => {
    expectSmall(gradCheck(avgPool(), [2, 2, 4, 4], { perTensor: 64 }));
    expectSmall(gradCheck(avgPool({ kernel: 3, stride: 2, padding: 1 }), [1, 2, 5, 5], { perTensor: 50 }));
  });

  it('globalAvgPool', () => {
    expectSmall(gradCheck(globalAvgPool(), [2, 3, 3, 4], { perTensor: 72 }));
  });

  it('flatten', () => {
    expectSmall(gradCheck(flatten(), [2, 3, 2, 2], { perTensor: 24 }));
  });

  it('dropout with a fixed key (training) and in evaluation', () => {
    const key = random.key(5);
    const r = gradCheck(dropout(0.4), [4, 8], { key, perTensor: 32 });
    expectSmall(r);
    expectSmall(gradCheck(dropout(0.4), [4, 8], { train: false, perTensor: 32 }));
  });

  it('serial of conv, batchNorm, linear', () => {
    const net = serial({ conv: conv2d(3, 3, { padding: 1, bias: true }), bn: batchNorm(), pool: globalAvgPool(), fc: linear(2) });
    expectSmall(gradCheck(net, [3, 2, 4, 4]));
    // A conv bias feeding BatchNorm in training has a zero gradient: BN subtracts the batch mean.
    const init = net.init(random.key(1), [3, 2, 4, 4]);
    const params = mapTree(init.params, (p) => cast(p, 'float64'));
    const state = mapTree(init.state, (p) => cast(p, 'float64'));
    const x = randTensor([3, 2, 4, 4], 2);
    const r = randTensor([3, 2], 3);
    const g = grad((p: ParamTree) => sum(mul(net.apply(p, state, x, { train: true })[0], r)))(params) as ParamTree;
    const gb = f64((g.conv as ParamTree).bias as Tensor);
    expect(Math.max(...Array.from(gb, Math.abs))).toBeLessThan(1e-12);
  });

  it('a residual block (basic, option A with stride 2), training mode', () => {
    const block = basicBlock(2, 4, 2, { shortcut: 'A', plain: false, zeroInitResidual: false });
    const r = gradCheck(block, [2, 2, 4, 4], { perTensor: 8 });
    expect(Object.keys(r.errors)).toEqual(['x', 'conv1.weight', 'bn1.weight', 'bn1.bias', 'conv2.weight', 'bn2.weight', 'bn2.bias']);
    expectSmall(r);
  });

  it('a residual block (basic, option B projection), evaluation and training mode', () => {
    const block = basicBlock(2, 3, 2, { shortcut: 'B', plain: false, zeroInitResidual: false });
    const r = gradCheck(block, [2, 2, 4, 4], { perTensor: 6 });
    expect(Object.keys(r.errors)).toContain('downsample.0.weight');
    expect(Object.keys(r.errors)).toContain('downsample.1.weight');
    expectSmall(r);
    expectSmall(gradCheck(block, [2, 2, 4, 4], { perTensor: 6, train: false }));
  });

  it('resnetCifar({ depth: 8 }) on [2, 3, 8, 8], w.r.t. the input and a few parameters', () => {
    const r = gradCheck(resnetCifar({ depth: 8 }), [2, 3, 8, 8], {
      leaves: ['conv1.weight', 'bn1.weight', 'layer1.0.conv2.weight', 'layer2.0.bn1.bias', 'layer3.0.conv1.weight', 'layer3.0.bn2.weight', 'fc.weight', 'fc.bias'],
      perTensor: 4,
      seed: 2,
    });
    expect(Object.keys(r.errors).length).toBe(9);
    expectSmall(r);
  });
});
