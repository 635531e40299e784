// The scheduler: how graphs group into kernels, how buffers are planned, and that scheduled +
// interpreted execution equals the equation-by-equation oracle on real model graphs.
import { describe, expect, it } from 'vitest';
import {
  abs, add, argmax, bind, compileProgram, concat, conv2d, crossEntropy, div, exp, grad, type Graph, type Idx, jit, kernelRules,
  makeGraph, matmul, maxPool2d, avgPool2d, mean, mul, neg, oneHot, primitives, type Program, random, referenceBackend, relu,
  reshape, schedule, sin, sqrt, sub, sum, type Tensor, tensor, transpose, type TypedArray, variance, type Expr, max, cast, log,
} from '@resgrad/core';
import { checkAgainstOracle, constData, kernelCount, rng } from './kernel-helpers.js';

const randn = (shape: number[], seed: number, dtype: 'float32' | 'float64' = 'float32'): Tensor => {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() + r() + r() - 1.5) * 2;
  return tensor(data, { shape, dtype });
};
const dataOf = (ts: readonly Tensor[]): TypedArray[] => ts.map((t) => t.data());

/** Every index expression of a program (loads, conditions, counters). */
function allIndices(p: Program): Idx[] {
  const out: Idx[] = [];
  const visit = (e: Expr): void => {
    switch (e.op) {
      case 'load':
        out.push(e.index);
        if (e.valid) out.push(e.valid);
        break;
      case 'index':
        out.push(e.index);
        break;
      case 'alu':
        e.args.forEach(visit);
        break;
      case 'select':
        out.push(e.cond);
        visit(e.then);
        visit(e.else);
        break;
      case 'threefry':
        visit(e.key[0]);
        visit(e.key[1]);
        out.push(e.counter);
        break;
      default:
    }
  };
  for (const k of p.kernels) if (k.kind === 'fused') [k.expr, ...(k.reduce ? [k.reduce.body] : [])].forEach(visit);
  return out;
}
const hasDivMod = (e: Idx): boolean =>
  e.op === 'div' || e.op === 'mod' || ('a' in e && typeof e.a === 'object' && hasDivMod(e.a)) || ('b' in e && typeof e.b === 'object' && hasDivMod(e.b));

const lower = <F extends (...a: any[]) => any>(f: F, ...args: Parameters<F>): Graph => jit(f).lower(...args);

describe('fusion', () => {
  const x = randn([4, 6], 1);

  it('an elementwise chain of 5 ops over one input is one kernel', () => {
    const g = lower((a: Tensor) => exp(neg(sqrt(abs(sin(a))))), x);
    expect(g.eqns.length).toBe(5);
    const p = checkAgainstOracle(g, dataOf([x]));
    expect(kernelCount(p)).toBe(1);
    expect(p.kernels[0]!.args.length).toBe(1);
  });

  it('sum(exp(x*2)) is one kernel: the reduction and the chain feeding it', () => {
    const p = checkAgainstOracle(lower((a: Tensor) => sum(exp(mul(a, 2))), x), dataOf([x]));
    expect(kernelCount(p)).toBe(1);
    const k = p.kernels[0]!;
    expect(k.kind === 'fused' && k.reduce?.op).toBe('sum');
  });

  it('elementwise ops on a reduction become its epilogue', () => {
    const p = checkAgainstOracle(lower((a: Tensor) => sqrt(mean(a, 1)), x), dataOf([x]));
    expect(kernelCount(p)).toBe(1);
    const k = p.kernels[0]!;
    expect(k.kind === 'fused' && k.expr.op).toBe('alu');
  });

  it('a reshape -> transpose -> reshape chain produces no kernel of its own', () => {
    const f = (a: Tensor) => exp(reshape(transpose(reshape(a, [2, 3, 4]), [2, 0, 1]), [6, 4]));
    const p = checkAgainstOracle(lower(f, x), dataOf([x]));
    expect(kernelCount(p)).toBe(1);
    // Before a library op the chain is materialised once, by a copy kernel.
    const w = randn([4, 5], 2);
    const q = checkAgainstOracle(lower((a: Tensor, b: Tensor) => matmul(reshape(transpose(reshape(a, [2, 3, 4]), [2, 0, 1]), [6, 4]), b), x, w), dataOf([x, w]));
    expect(q.kernels.map((k) => (k.kind === 'library' ? k.op : 'fused'))).toEqual(['fused', 'dot']);
  });

  it('flatten then unflatten leaves a plain affine index (no div/mod)', () => {
    const p = checkAgainstOracle(lower((a: Tensor) => exp(reshape(reshape(a, [24]), [2, 3, 4])), x), dataOf([x]));
    const idx = allIndices(p);
    expect(idx.length).toBe(1);
    expect(hasDivMod(idx[0]!)).toBe(false);
    expect(String(p)).toContain('in0[i0*12 + i1*4 + i2]');
  });

  it('a costly value used by several kernels is stored once; cheap ones and loads are recomputed', () => {
    // y = exp(x) feeds two kernels (two outputs): stored, 3 kernels.
    const p = checkAgainstOracle(lower((a: Tensor) => { const y = exp(a); return [mul(y, 2), sum(y)]; }, x), dataOf([x]));
    expect(kernelCount(p)).toBe(3);
    // y = x + 1 is cheap: recomputed in both kernels.
    const q = checkAgainstOracle(lower((a: Tensor) => { const y = add(a, 1); return [mul(y, 2), sum(y)]; }, x), dataOf([x]));
    expect(kernelCount(q)).toBe(2);
    // All uses of y = exp(x) meet in one expression: it stays inline (a compiler evaluates it once).
    const r = checkAgainstOracle(lower((a: Tensor) => { const y = exp(a); return add(mul(y, y), sin(y)); }, x), dataOf([x]));
    expect(kernelCount(r)).toBe(1);
  });

  it('library ops read stored operands; elementwise consumers fuse after them', () => {
    const w = randn([6, 3], 3);
    const p = checkAgainstOracle(lower((a: Tensor, b: Tensor) => relu(add(matmul(exp(a), b), 1)), x, w), dataOf([x, w]));
    expect(p.kernels.map((k) => (k.kind === 'library' ? k.op : 'fused'))).toEqual(['fused', 'dot', 'fused']);
  });

  it('scalar consts are inlined as literals', () => {
    const p = checkAgainstOracle(lower((a: Tensor) => add(mul(a, 3), 0.5), x), dataOf([x]));
    expect(p.consts.every((c) => c === null)).toBe(true);
    expect(String(p)).toContain('* 3');
  });

  it('every kernel rule agrees with its primitive kind', () => {
    const expected = { elementwise: ['alu', 'identity'], reduce: ['reduce'], movement: ['view'], library: ['library'], source: ['iota', 'randomBits'] };
    for (const [name, def] of Object.entries(primitives)) {
      expect(expected[def.kind], name).toContain(kernelRules[name as keyof typeof kernelRules].kind);
    }
  });
});

describe('buffer plan', () => {
  it('reuses a buffer when two intermediates have disjoint lifetimes', () => {
    const x = randn([5, 5], 4);
    // a -> b -> c -> out: a dies when b is made, so c takes a's slot.
    const f = (v: Tensor) => matmul(matmul(matmul(matmul(v, v), v), v), v);
    const p = checkAgainstOracle(lower(f, x), dataOf([x]));
    const temps = p.buffers.filter((b) => b.role.kind === 'temp');
    expect(temps.length).toBe(3);
    expect(p.slots.length).toBe(2);
    const slot = (i: number) => (temps[i]!.role as { slot: number }).slot;
    expect(slot(0)).toBe(slot(2));
    expect(slot(0)).not.toBe(slot(1));
  });

  it('never lets a kernel write a slot it reads', () => {
    const x = randn([8], 5);
    const f = (v: Tensor) => {
      let y = exp(v);
      // each y feeds the next y and a max reduction: stored
      const ms: Tensor[] = [];
      for (let i = 0; i < 6; i++) {
        ms.push(max(y));
        y = exp(sin(y));
      }
      return [y, ...ms];
    };
    const p = checkAgainstOracle(lower(f, x), dataOf([x]));
    for (const k of p.kernels) {
      const out = p.buffers[k.out]!.role;
      if (out.kind !== 'temp') continue;
      for (const a of k.args) {
        const r = p.buffers[a]!.role;
        if (r.kind === 'temp') expect(r.slot).not.toBe(out.slot);
      }
    }
    expect(p.slots.length).toBe(2);
  });

  it('running twice allocates no new intermediate buffers and leaves inputs alone', () => {
    const x = randn([6, 6], 6);
    const g = lower((v: Tensor) => sum(exp(matmul(matmul(v, v), v)), 1), x);
    const prog = schedule(g);
    const compiled = compileProgram(prog);
    const input = x.data();
    const copy = input.slice();
    const first = compiled.run([input], constData(g));
    const allocations = compiled.allocations;
    const bytes = compiled.arenaBytes;
    expect(allocations).toBe(prog.slots.length);
    const second = compiled.run([input], constData(g));
    expect(compiled.allocations).toBe(allocations);
    expect(compiled.arenaBytes).toBe(bytes);
    expect(second[0]).not.toBe(first[0]); // outputs are fresh: the caller owns them
    expect(Array.from(second[0]!)).toEqual(Array.from(first[0]!));
    expect(input).toEqual(copy);
  });

  it('a jitted function on the reference backend allocates only its outputs after the first call', () => {
    const f = jit((v: Tensor) => sum(exp(matmul(matmul(v, v), v)), 1));
    const x = randn([6, 6], 7);
    f(x).dispose();
    const before = referenceBackend.memoryInUse!();
    const y = f(x);
    expect(referenceBackend.memoryInUse!() - before).toBe(6 * 4);
    y.dispose();
    expect(referenceBackend.memoryInUse!()).toBe(before);
  });

  it('outputs that are inputs or repeated get copies of their own', () => {
    const x = randn([3, 2], 8);
    const g = makeGraph((v: Tensor) => {
      const y = exp(v);
      return [v, y, y, reshape(v, [6])];
    })(x);
    const p = checkAgainstOracle(g, dataOf([x]));
    expect(new Set(p.outputs).size).toBe(4);
    expect(p.outputs.every((id) => p.buffers[id]!.role.kind === 'output')).toBe(true);
  });
});

describe('model graphs against the oracle', () => {
  const bn = (x: Tensor, gamma: Tensor, beta: Tensor) => {
    const axes = [0, 2, 3];
    const m = mean(x, axes, { keepDims: true });
    const v = variance(x, axes, { keepDims: true });
    return add(mul(div(sub(x, m), sqrt(add(v, 1e-5))), gamma), beta);
  };

  for (const dtype of ['float32', 'float64'] as const) {
    it(`BatchNorm forward and gradient (${dtype})`, () => {
      const x = randn([4, 3, 5, 5], 10, dtype);
      const gamma = randn([1, 3, 1, 1], 11, dtype);
      const beta = randn([1, 3, 1, 1], 12, dtype);
      checkAgainstOracle(lower(bn, x, gamma, beta), dataOf([x, gamma, beta]), 'bn');
      const loss = (a: Tensor, b: Tensor, c: Tensor) => sum(mul(bn(a, b, c), bn(a, b, c)));
      const p = checkAgainstOracle(lower(grad(loss, { argnums: [0, 1, 2] }), x, gamma, beta), dataOf([x, gamma, beta]), 'bn grad');
      expect(kernelCount(p)).toBeLessThan(p.buffers.length);
    });
  }

  it('conv + BN + ReLU + residual add, with its gradient', () => {
    const x = randn([2, 4, 6, 6], 20);
    const w1 = mul(randn([4, 4, 3, 3], 21), 0.3);
    const w2 = mul(randn([4, 4, 3, 3], 22), 0.3);
    const g = randn([1, 4, 1, 1], 23);
    const b = randn([1, 4, 1, 1], 24);
    const block = (v: Tensor, k1: Tensor, k2: Tensor, ga: Tensor, be: Tensor) => {
      const h = relu(bn(conv2d(v, k1, { padding: 1 }), ga, be));
      return relu(add(bn(conv2d(h, k2, { padding: 1 }), ga, be), v));
    };
    const args = [x, w1, w2, g, b] as const;
    const fwd = checkAgainstOracle(lower(block, ...args), dataOf(args), 'block');
    expect(fwd.kernels.filter((k) => k.kind === 'library').length).toBe(2);
    const loss = (...a: Parameters<typeof block>) => sum(mul(block(...a), block(...a)));
    const bwd = checkAgainstOracle(lower(grad(loss, { argnums: [0, 1, 2, 3, 4] }), ...args), dataOf(args), 'block grad');
    const ops = bwd.kernels.flatMap((k) => (k.kind === 'library' ? [k.op] : []));
    expect(ops).toContain('conv2dInputGrad');
    expect(ops).toContain('conv2dWeightGrad');
  });

  it('maxPool (pad + strided slices + max) and avgPool, forward and gradient', () => {
    const x = randn([2, 3, 7, 7], 30);
    const f = (v: Tensor) => maxPool2d(v, { kernel: 3, stride: 2, padding: 1 });
    const p = checkAgainstOracle(lower(f, x), dataOf([x]), 'maxPool');
    expect(kernelCount(p)).toBe(1);
    checkAgainstOracle(lower(grad((v: Tensor) => sum(mul(f(v), f(v)))), x), dataOf([x]), 'maxPool grad');
    const h = (v: Tensor) => avgPool2d(v, { kernel: 2 });
    checkAgainstOracle(lower(grad((v: Tensor) => sum(exp(h(v)))), x), dataOf([x]), 'avgPool grad');
  });

  it('randomBits and iota: random draws, split keys, one-hot, argmax, cross-entropy', () => {
    const key = random.key(42);
    const g = lower((k: Tensor) => {
      const [k1, k2, k3] = random.split(k, 3);
      return [
        random.normal(k1!, [5, 7]),
        random.uniform(k2!, [3, 4], { dtype: 'float64' }),
        random.randint(k3!, [9], -3, 11),
        random.bernoulli(random.foldIn(k, 7), 0.3, [4, 4]),
      ];
    }, key);
    checkAgainstOracle(g, dataOf([key]), 'random');
    const logits = randn([6, 5], 40);
    const labels = tensor(new Int32Array([0, 4, 2, 2, 1, 3]), { shape: [6] });
    const ce = (l: Tensor, y: Tensor) => [crossEntropy(l, y), argmax(l, 1), oneHot(y, 5)];
    checkAgainstOracle(lower(ce, logits, labels), dataOf([logits, labels]), 'ce');
    checkAgainstOracle(lower(grad((l: Tensor, y: Tensor) => crossEntropy(l, y)), logits, labels), dataOf([logits, labels]), 'ce grad');
  });

  it('integer and bool graphs agree exactly (wrapping, truncating division, division by zero)', () => {
    const a = tensor(new Int32Array([7, -7, 2147483647, -5, 0, 9]), { shape: [2, 3] });
    const b = tensor(new Int32Array([2, 2, 2, 0, 0, -4]), { shape: [2, 3] });
    const g = makeGraph((u: Tensor, v: Tensor) => {
      const q = bind('div', [u, v], {});
      const s = add(mul(u, v), u);
      const m = max(concat([u, v], 0), 0);
      return [q, s, m, cast(greater(u, v), 'int32'), sum(cast(u, 'float32')), log(cast(abs(v), 'float32'))];
    })(a, b);
    checkAgainstOracle(g, dataOf([a, b]), 'int');
  });
});

describe('edge cases', () => {
  it('empty tensors: concat with an empty operand, sums over an empty axis, padding an empty tensor', () => {
    const e = tensor(new Float32Array(0), { shape: [0, 3] });
    const x = randn([2, 3], 50);
    const g = makeGraph((a: Tensor, b: Tensor) => [
      exp(concat([a, b], 0)),
      add(sum(a, 0), 1),
      bind('pad', [a], { lo: [1, 0], hi: [1, 1], interior: [2, 0], value: 3 }),
      mul(a, 2),
    ])(e, x);
    checkAgainstOracle(g, dataOf([e, x]), 'empty');
  });

  it('a program prints its buffers, slots and kernels', () => {
    const x = randn([4, 4], 51);
    const text = String(schedule(lower((v: Tensor) => relu(matmul(exp(v), v)), x)));
    expect(text).toMatch(/^program: 3 kernel\(s\), 2 temporaries in 2 slot\(s\)/);
    expect(text).toContain('k0 t1:f32[4,4] <- fused(in0)');
    expect(text).toContain('k1 t2:f32[4,4] <- dot(t1, in0)');
    expect(text).toContain('out[i0,i1] = where((t2[i0*4 + i1] > 0), t2[i0*4 + i1], 0)');
  });
});

const greater = (a: Tensor, b: Tensor) => bind('gt', [a, b], {});
