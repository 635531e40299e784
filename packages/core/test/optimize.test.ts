// optimizeGraph's rewrites keep every value bit for bit; the ReLU-mask rewrite lets the
// pre-activation die with the forward pass.
import { describe, expect, it } from 'vitest';
import { fc, test as fcTest } from '@fast-check/vitest';
import { add, evalGraphOracle, grad, type Graph, makeGraph, mul, optimizeGraph, relu, sum, tensor, type Tensor, type Var, bind, fullLike } from '@resgrad/core';

const usesOf = (g: Graph, v: Var) => g.eqns.filter((e) => e.inputs.includes(v)).length;

describe('the ReLU-mask rewrite', () => {
  const loss = (x: Tensor, w: Tensor) => sum(mul(relu(mul(x, w)), x));

  it('the backward pass reads the mask from the ReLU output, not the pre-activation', () => {
    const x = tensor([1, -2, 3, -4]);
    const w = tensor([0.5, 0.5, -1, 2]);
    const raw = makeGraph(grad(loss))(x, w);
    const opt = optimizeGraph(raw);
    const pre = (g: Graph) => g.eqns.find((e) => e.prim === 'gt')!.inputs[0]!;
    // Traced: the pre-activation feeds the mask, and the mask both the forward where and the gradient's.
    const rawMask = raw.eqns.find((e) => e.prim === 'gt')!.out;
    expect(usesOf(raw, rawMask)).toBeGreaterThanOrEqual(2);
    // Optimised: the first mask feeds only the forward where; the gradient's mask reads y > 0.
    const masks = opt.eqns.filter((e) => e.prim === 'gt');
    expect(masks).toHaveLength(2);
    expect(usesOf(opt, masks[0]!.out)).toBe(1);
    const y = opt.eqns.find((e) => e.prim === 'where' && e.inputs[0] === masks[0]!.out)!.out;
    expect(masks[1]!.inputs[0]).toBe(y);
    expect(usesOf(opt, pre(opt))).toBe(2); // its mask and the where: both inside y's kernel
  });

  // Every float, NaN, signed zeros and infinities included, and any threshold.
  const special = fc.constantFrom(NaN, 0, -0, Infinity, -Infinity, 1e-45, -1e-45);
  const value = fc.oneof(fc.float({ noDefaultInfinity: false }), special);
  fcTest.prop([fc.array(value, { minLength: 1, maxLength: 12 }), fc.oneof(fc.float(), special)])(
    'a thresholded activation and its gradient are unchanged bit for bit',
    (xs, c) => {
      // relu's construction with threshold c: one threshold tensor for the mask and the where.
      const act = (x: Tensor) => {
        const cc = fullLike(x, c);
        return bind('where', [bind('gt', [x, cc], {}), x, cc], {});
      };
      const f = (x: Tensor) => sum(mul(act(x), mul(x, 3)));
      const g = (x: Tensor) => [grad(f)(x), add(act(x), 1)];
      const x = tensor(Float32Array.from(xs));
      const raw = makeGraph(g)(x);
      const want = evalGraphOracle(raw, [x.data()], raw.constValues.map((t) => t.data()));
      const opt = optimizeGraph(raw);
      // The rewrite happened: the gradient's mask compares the where's output.
      const whereOuts = new Set(opt.eqns.filter((e) => e.prim === 'where').map((e) => e.out));
      expect(opt.eqns.some((e) => e.prim === 'gt' && whereOuts.has(e.inputs[0]!))).toBe(true);
      const got = evalGraphOracle(opt, [x.data()], opt.constValues.map((t) => t.data()));
      got.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(want[i]!)));
    },
  );
});
