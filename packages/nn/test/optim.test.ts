// Optimizers against updates computed by hand (plain JS in float64, following PyTorch's
// definitions) over a few steps on small tensors; gradient clipping; learning rates as numbers
// or tensors; jitted updates; and the schedules at and around each boundary.
import { describe, expect, it } from 'vitest';
import { full, jit, type Tensor, tensor } from '@resgrad/core';
import {
  adam, adamw, clipByGlobalNorm, cosine, decayWeightsOnly, errorWarmup, flattenNamed, globalNorm, linearWarmup, oneCycle, type Optimizer,
  paperSchedule, piecewiseConstant, sgd,
} from '@resgrad/nn';

type Tree = { w: Tensor; b: Tensor };
type Host = { w: number[]; b: number[] };

const P0: Host = { w: [0.5, -1.25, 2, 0.75], b: [0.1, -0.3] };
/** One gradient per step. */
const G: Host[] = [
  { w: [0.2, -0.4, 1.5, 0.05], b: [-0.7, 0.25] },
  { w: [-0.3, 0.1, 0.9, -0.6], b: [0.4, 0.35] },
  { w: [0.05, -0.8, -0.2, 0.3], b: [-0.1, 0.9] },
];

const toTree = (h: Host, dtype: 'float32' | 'float64' = 'float64'): Tree => ({
  w: tensor(h.w, { shape: [2, 2], dtype }),
  b: tensor(h.b, { shape: [2], dtype }),
});
const toHost = (t: Tree): Host => ({ w: Array.from(t.w.data()), b: Array.from(t.b.data()) });

function expectTreeClose(actual: Tree, expected: Host, tol: number, what: string) {
  const a = toHost(actual);
  for (const k of ['w', 'b'] as const)
    a[k].forEach((v, i) => {
      const e = expected[k][i]!;
      const err = Math.abs(v - e) / Math.max(Math.abs(e), 1e-3);
      if (!(err <= tol)) expect.fail(`${what}: ${k}[${i}] = ${v}, expected ${e} (relative error ${err})`);
    });
}

/** Runs `steps` updates of `opt` from P0 with the gradients G, returning the params after each. */
function run(opt: Optimizer, steps: number, options: { dtype?: 'float32' | 'float64'; lr?: number | Tensor } = {}): Tree[] {
  let p = toTree(P0, options.dtype);
  let s = opt.init(p);
  const out: Tree[] = [];
  for (let t = 0; t < steps; t++) {
    [p, s] = opt.update(toTree(G[t]!, options.dtype), s, p, options.lr === undefined ? {} : { lr: options.lr });
    out.push(p);
  }
  return out;
}

const map2 = (a: Host, b: Host, f: (x: number, y: number, k: 'w' | 'b', i: number) => number): Host => ({
  w: a.w.map((x, i) => f(x, b.w[i]!, 'w', i)),
  b: a.b.map((x, i) => f(x, b.b[i]!, 'b', i)),
});

/** PyTorch SGD (dampening 0) by hand: g += wd p (if masked in); b = mu b + g; p -= lr (nesterov ? g + mu b : b). */
function sgdByHand(
  steps: number,
  o: { lr: number; momentum?: number; nesterov?: boolean; wd?: number; decoupled?: boolean; decays?: (k: 'w' | 'b') => boolean },
): Host[] {
  const mu = o.momentum ?? 0;
  const wd = o.wd ?? 0;
  const decays = o.decays ?? (() => true);
  let p = P0;
  let buf: Host | undefined;
  const out: Host[] = [];
  for (let t = 0; t < steps; t++) {
    const g = map2(G[t]!, p, (gi, pi, k) => (!o.decoupled && decays(k) ? gi + wd * pi : gi));
    let d = g;
    if (mu > 0) {
      buf = buf ? map2(buf, g, (bi, gi) => mu * bi + gi) : g;
      const b = buf;
      d = o.nesterov ? map2(g, b, (gi, bi) => gi + mu * bi) : b;
    }
    p = map2(p, d, (pi, di, k) => pi - o.lr * di - (o.decoupled && decays(k) ? o.lr * wd * pi : 0));
    out.push(p);
  }
  return out;
}

/** PyTorch Adam / AdamW by hand, with the bias corrections 1 - beta^t in float64. */
function adamByHand(steps: number, o: { lr: number; b1?: number; b2?: number; eps?: number; wd?: number; decoupled: boolean }): Host[] {
  const b1 = o.b1 ?? 0.9;
  const b2 = o.b2 ?? 0.999;
  const eps = o.eps ?? 1e-8;
  const wd = o.wd ?? 0;
  let p = P0;
  let m: Host = { w: [0, 0, 0, 0], b: [0, 0] };
  let v: Host = { w: [0, 0, 0, 0], b: [0, 0] };
  const out: Host[] = [];
  for (let t = 1; t <= steps; t++) {
    const g = map2(G[t - 1]!, p, (gi, pi) => (o.decoupled ? gi : gi + wd * pi));
    m = map2(m, g, (mi, gi) => b1 * mi + (1 - b1) * gi);
    v = map2(v, g, (vi, gi) => b2 * vi + (1 - b2) * gi * gi);
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    const pOld = p;
    p = map2(p, m, (pi, mi, k, i) => {
      const vi = v[k][i]!;
      return pi - (o.lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps) - (o.decoupled ? o.lr * wd * pOld[k][i]! : 0);
    });
    out.push(p);
  }
  return out;
}

/**
 * Compares the parameters after each step and, more sharply, each step's update p_t - p_{t-1}
 * (an update is small next to the parameter, so its relative error is the telling one).
 */
function checkSteps(got: Tree[], want: Host[], tol: number, name: string) {
  want.forEach((w, t) => {
    expectTreeClose(got[t]!, w, tol, `${name}, step ${t + 1}`);
    // In float32 the difference of two parameters carries their rounding: params only.
    if (got[t]!.w.dtype !== 'float64') return;
    const prevWant = t === 0 ? P0 : want[t - 1]!;
    const prevGot = t === 0 ? P0 : toHost(got[t - 1]!);
    const g = toHost(got[t]!);
    for (const k of ['w', 'b'] as const)
      w[k].forEach((wv, i) => {
        const du = wv - prevWant[k][i]!;
        const dg = g[k][i]! - prevGot[k][i]!;
        const err = Math.abs(dg - du) / Math.max(Math.abs(du), 1e-9);
        if (!(err <= tol * 10)) expect.fail(`${name}, step ${t + 1}: update of ${k}[${i}] = ${dg}, expected ${du} (relative error ${err})`);
      });
  });
}

describe('SGD against hand-computed updates (float64)', () => {
  const TOL = 1e-13;
  it('plain', () => checkSteps(run(sgd({ lr: 0.1 }), 3), sgdByHand(3, { lr: 0.1 }), TOL, 'sgd'));
  it('momentum 0.9', () => checkSteps(run(sgd({ lr: 0.1, momentum: 0.9 }), 3), sgdByHand(3, { lr: 0.1, momentum: 0.9 }), TOL, 'momentum'));
  it('Nesterov', () =>
    checkSteps(run(sgd({ lr: 0.05, momentum: 0.9, nesterov: true }), 3), sgdByHand(3, { lr: 0.05, momentum: 0.9, nesterov: true }), TOL, 'nesterov'));
  it('L2 weight decay as PyTorch (added to the gradient, so it enters the momentum)', () =>
    checkSteps(
      run(sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.05 }), 3),
      sgdByHand(3, { lr: 0.1, momentum: 0.9, wd: 0.05 }),
      TOL,
      'sgd + L2',
    ));
  it('L2 weight decay with Nesterov', () =>
    checkSteps(
      run(sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }), 3),
      sgdByHand(3, { lr: 0.1, momentum: 0.9, nesterov: true, wd: 0.05 }),
      TOL,
      'nesterov + L2',
    ));
  it('decoupled weight decay (p -= lr wd p, outside the momentum)', () =>
    checkSteps(
      run(sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.05, decoupled: true }), 3),
      sgdByHand(3, { lr: 0.1, momentum: 0.9, wd: 0.05, decoupled: true }),
      TOL,
      'sgdw',
    ));
  it('decayWeightsOnly: tensors of rank >= 2 decay, biases do not', () => {
    const want = sgdByHand(3, { lr: 0.1, momentum: 0.9, wd: 0.05, decays: (k) => k === 'w' });
    checkSteps(run(sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.05, decayMask: decayWeightsOnly }), 3), want, TOL, 'masked');
    // And differs from decaying everything.
    expect(toHost(run(sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.05 }), 1)[0]!).b).not.toEqual(want[0]!.b);
    expect(decayWeightsOnly('fc.bias', tensor([1, 2]))).toBe(false);
    expect(decayWeightsOnly('conv1.weight', tensor([[1]]))).toBe(true);
  });
  it('a decay mask by name (decoupled)', () =>
    checkSteps(
      run(sgd({ lr: 0.1, momentum: 0.5, weightDecay: 0.2, decoupled: true, decayMask: (path) => path === 'b' }), 3),
      sgdByHand(3, { lr: 0.1, momentum: 0.5, wd: 0.2, decoupled: true, decays: (k) => k === 'b' }),
      TOL,
      'mask by name',
    ));
  it('the momentum buffers are the state, named like the params', () => {
    const opt = sgd({ lr: 0.1, momentum: 0.9 });
    const p = toTree(P0);
    const s0 = opt.init(p);
    expect(flattenNamed(s0).map(([n]) => n)).toEqual(['momentum.w', 'momentum.b']);
    const [, s1] = opt.update(toTree(G[0]!), s0, p);
    // After one step the buffer is the gradient itself (PyTorch's first step).
    expect(toHost((s1 as { momentum: Tree }).momentum)).toEqual(G[0]);
    // No momentum, no buffers.
    expect(flattenNamed(sgd({ lr: 0.1 }).init(p))).toEqual([]);
  });
  it('float32 parameters stay float32 and match to float32 precision', () => {
    const got = run(sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-4 }), 3, { dtype: 'float32' });
    expect(got[2]!.w.dtype).toBe('float32');
    checkSteps(got, sgdByHand(3, { lr: 0.1, momentum: 0.9, nesterov: true, wd: 1e-4 }), 5e-7, 'sgd f32');
  });
  it('errors: Nesterov without momentum, negative momentum, no learning rate', () => {
    expect(() => sgd({ lr: 0.1, nesterov: true })).toThrow(/sgd: nesterov needs a positive momentum/);
    expect(() => sgd({ lr: 0.1, momentum: -1 })).toThrow(/sgd: momentum must be >= 0/);
    const opt = sgd();
    const p = toTree(P0);
    expect(() => opt.update(p, opt.init(p), p)).toThrow(/sgd.update: no learning rate/);
    // The lr given to update wins over the optimizer's.
    const [a] = sgd({ lr: 1 }).update(toTree(G[0]!), {} as never, p, { lr: 0.1 });
    expectTreeClose(a, sgdByHand(1, { lr: 0.1 })[0]!, 1e-13, 'lr override');
  });
});

describe('Adam and AdamW against hand-computed updates', () => {
  // float64 params (the step count is a float32 scalar, exact up to 2^24 steps).
  const TOL = 1e-12;
  it('Adam, defaults', () => checkSteps(run(adam({ lr: 0.01 }), 3), adamByHand(3, { lr: 0.01, decoupled: false }), TOL, 'adam'));
  it('Adam with custom betas and eps', () =>
    checkSteps(
      run(adam({ lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-3 }), 3),
      adamByHand(3, { lr: 0.05, b1: 0.8, b2: 0.99, eps: 1e-3, decoupled: false }),
      TOL,
      'adam betas',
    ));
  it('Adam with L2 weight decay (added to the gradient, as PyTorch Adam)', () =>
    checkSteps(run(adam({ lr: 0.01, weightDecay: 0.1 }), 3), adamByHand(3, { lr: 0.01, wd: 0.1, decoupled: false }), TOL, 'adam + L2'));
  it('AdamW: decoupled decay, default 0.01 as PyTorch', () => {
    checkSteps(run(adamw({ lr: 0.01 }), 3), adamByHand(3, { lr: 0.01, wd: 0.01, decoupled: true }), TOL, 'adamw');
    checkSteps(run(adamw({ lr: 0.01, weightDecay: 0.3 }), 3), adamByHand(3, { lr: 0.01, wd: 0.3, decoupled: true }), TOL, 'adamw 0.3');
  });
  it('AdamW differs from Adam with the same decay', () => {
    const a = toHost(run(adam({ lr: 0.01, weightDecay: 0.3 }), 2)[1]!);
    const b = toHost(run(adamw({ lr: 0.01, weightDecay: 0.3 }), 2)[1]!);
    expect(a.w).not.toEqual(b.w);
  });
  it('AdamW with decayWeightsOnly leaves biases undecayed', () => {
    const got = run(adamw({ lr: 0.01, weightDecay: 0.3, decayMask: decayWeightsOnly }), 3);
    const decayed = adamByHand(3, { lr: 0.01, wd: 0.3, decoupled: true });
    const plain = adamByHand(3, { lr: 0.01, wd: 0, decoupled: true });
    checkSteps(got, decayed.map((d, t) => ({ w: d.w, b: plain[t]!.b })), TOL, 'adamw masked');
  });
  it('float32 parameters, to float32 precision', () => {
    const got = run(adam({ lr: 0.01 }), 3, { dtype: 'float32' });
    expect(got[2]!.w.dtype).toBe('float32');
    checkSteps(got, adamByHand(3, { lr: 0.01, decoupled: false }), 1e-6, 'adam f32');
  });
  it('the first step is -lr g / (|g| + eps) to float32 precision (accurate bias corrections)', () => {
    // Regression: 1 - pow(0.999, t) in float32 is off by 1.3e-5 relative (0.999 is not a float32).
    for (const [b1, b2] of [[0.9, 0.999], [0.5, 0.9999]] as const) {
      const g = [0.3, -2, 1e-3, 7];
      const opt = adam({ lr: 0.01, beta1: b1, beta2: b2 });
      const p = { x: tensor([0, 0, 0, 0]) };
      const [p1] = opt.update({ x: tensor(g) }, opt.init(p), p);
      Array.from(p1.x.data()).forEach((v, i) => {
        const want = (-0.01 * g[i]!) / (Math.abs(g[i]!) + 1e-8);
        expect(Math.abs(v - want) / Math.abs(want), `beta2 ${b2}, element ${i}`).toBeLessThan(1e-6);
      });
    }
    expect(() => adam({ beta1: 1 })).toThrow(/adam: beta1 must be in \[0, 1\), got 1/);
    expect(() => adamw({ beta2: -0.1 })).toThrow(/adamw: beta2 must be in \[0, 1\)/);
  });
  it('the state counts steps and holds mu and nu named like the params', () => {
    const opt = adam({ lr: 0.01 });
    let p = toTree(P0);
    let s = opt.init(p);
    expect(flattenNamed(s).map(([n]) => n)).toEqual(['count', 'mu.w', 'mu.b', 'nu.w', 'nu.b']);
    for (let t = 0; t < 3; t++) [p, s] = opt.update(toTree(G[t]!), s, p);
    expect(s.count.item()).toBe(3);
    expect(() => adam().update(p, s, p)).toThrow(/adam.update: no learning rate/);
  });
});

describe('clipByGlobalNorm', () => {
  const grads = () => ({ a: tensor([3, 0], { dtype: 'float64' }), nested: { b: tensor([[0, 4]], { dtype: 'float64' }) } });
  it('scales everything by maxNorm / norm when the norm is larger, and returns the norm', () => {
    const [g, norm] = clipByGlobalNorm(grads(), 1);
    expect(norm.item()).toBe(5);
    expect(Array.from(g.a.data())[0]).toBeCloseTo(0.6, 15);
    expect(Array.from(g.a.data())[1]).toBe(0);
    expect(Array.from(g.nested.b.data())[1]).toBeCloseTo(0.8, 15);
    expect(globalNorm(g).item()).toBeCloseTo(1, 15);
  });
  it('leaves gradients whose norm is at most maxNorm unchanged', () => {
    for (const maxNorm of [5, 10]) {
      const [g, norm] = clipByGlobalNorm(grads(), maxNorm);
      expect(norm.item()).toBe(5);
      expect(Array.from(g.a.data())).toEqual([3, 0]);
      expect(Array.from(g.nested.b.data())).toEqual([0, 4]);
    }
  });
  it('matches a direct computation on random-ish values', () => {
    const vals = [0.3, -1.2, 2.5, 0.7, -0.1, 4];
    const norm = Math.sqrt(vals.reduce((s, v) => s + v * v, 0));
    const [g, n] = clipByGlobalNorm({ x: tensor(vals.slice(0, 2), { dtype: 'float64' }), y: tensor(vals.slice(2), { dtype: 'float64', shape: [2, 2] }) }, 2);
    expect(n.item()).toBeCloseTo(norm, 14);
    const got = [...Array.from(g.x.data()), ...Array.from(g.y.data())];
    got.forEach((v, i) => expect(v).toBeCloseTo((vals[i]! * 2) / norm, 14));
  });
  it('errors', () => {
    expect(() => clipByGlobalNorm(grads(), 0)).toThrow(/clipByGlobalNorm: maxNorm must be positive, got 0/);
    expect(() => clipByGlobalNorm({}, 1)).toThrow(/globalNorm: the tree has no tensors/);
  });
});

describe('learning rate as a tensor, and jit', () => {
  const optimizers: [string, () => Optimizer][] = [
    ['sgd', () => sgd({ momentum: 0.9, nesterov: true, weightDecay: 1e-2 })],
    ['sgd decoupled', () => sgd({ momentum: 0.9, weightDecay: 1e-2, decoupled: true })],
    ['adam', () => adam({ weightDecay: 1e-2 })],
    ['adamw', () => adamw()],
  ];
  for (const [name, make] of optimizers) {
    it(`${name}: lr as a float32 scalar tensor gives the same result as the number`, () => {
      const a = run(make(), 3, { dtype: 'float32', lr: 0.05 });
      const b = run(make(), 3, { dtype: 'float32', lr: full([], 0.05) });
      a.forEach((p, t) => expect(toHost(b[t]!), `step ${t + 1}`).toEqual(toHost(p)));
    });

    it(`${name}: a jitted update equals the eager one, without retracing across steps`, () => {
      const opt = make();
      const step = jit((g: Tree, s: unknown, p: Tree, lr: Tensor) => opt.update(g, s, p, { lr }));
      let pe = toTree(P0, 'float32');
      let se = opt.init(pe);
      let pj = pe;
      let sj = se;
      const lrs = [0.1, 0.05, 0.01];
      for (let t = 0; t < 3; t++) {
        const g = toTree(G[t]!, 'float32');
        [pe, se] = opt.update(g, se, pe, { lr: full([], lrs[t]!) });
        [pj, sj] = step(g, sj, pj, full([], lrs[t]!)) as [Tree, unknown];
        const he = toHost(pe);
        const hj = toHost(pj);
        (['w', 'b'] as const).forEach((k) =>
          he[k].forEach((v, i) => expect(Math.abs(hj[k][i]! - v), `${k}[${i}] at step ${t + 1}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v)))),
        );
      }
      expect(step.cacheSize).toBe(1);
    });
  }
});

describe('schedules', () => {
  it('piecewiseConstant: values at and around each boundary', () => {
    const s = piecewiseConstant([10, 20], [1, 0.5, 0.25]);
    expect([0, 9, 10, 11, 19, 20, 21, 10_000].map((t) => s(t))).toEqual([1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]);
    expect(piecewiseConstant([], [3])(123)).toBe(3);
    expect(() => piecewiseConstant([10], [1])).toThrow(/expected 2 values for 1 boundaries/);
    expect(() => piecewiseConstant([20, 10], [1, 2, 3])).toThrow(/boundaries must increase/);
    expect(() => s(-1)).toThrow(/step must be a non-negative integer/);
    expect(() => s(1.5)).toThrow(/step must be a non-negative integer/);
  });

  it("paperSchedule: 0.1 until 31999, 0.01 from 32000, 0.001 from 48000", () => {
    const s = paperSchedule();
    expect(s(0)).toBe(0.1);
    expect(s(31_999)).toBe(0.1);
    expect(s(32_000)).toBe(0.01);
    expect(s(32_001)).toBe(0.01);
    expect(s(47_999)).toBe(0.01);
    expect(s(48_000)).toBe(0.001);
    expect(s(63_999)).toBe(0.001);
    expect(s(64_000)).toBe(0.001);
  });

  it('paperSchedule: scale shortens the boundaries proportionally; base and factor', () => {
    const s = paperSchedule({ scale: 0.1 });
    expect(s(3_199)).toBe(0.1);
    expect(s(3_200)).toBeCloseTo(0.01, 15);
    expect(s(4_799)).toBeCloseTo(0.01, 15);
    expect(s(4_800)).toBeCloseTo(0.001, 15);
    // A tiny scale keeps every stage: boundaries at least 1 and strictly increasing.
    const q = paperSchedule({ scale: 1 / 64_000 });
    expect([0, 1, 2, 3].map((t) => q(t))).toEqual([0.1, 0.01, 0.001, 0.001]); // exact decimals, not 0.1 * 0.1
    expect(() => paperSchedule({ scale: 0 })).toThrow(/scale must be positive/);
    const b = paperSchedule({ base: 0.2, factor: 0.5, boundaries: [5, 7] });
    expect([4, 5, 6, 7].map((t) => b(t))).toEqual([0.2, 0.1, 0.1, 0.05]);
  });

  it('errorWarmup: 0.01 until context.warmupDone, then the schedule', () => {
    const s = errorWarmup(paperSchedule());
    expect(s.threshold).toBe(0.8);
    expect(s(0)).toBe(0.01);
    expect(s(399)).toBe(0.01);
    expect(s(400, { warmupDone: false })).toBe(0.01);
    expect(s(33_000)).toBe(0.01);
    expect(s(400, { warmupDone: true })).toBe(0.1);
    expect(s(32_000, { warmupDone: true })).toBeCloseTo(0.01, 15);
    expect(s(48_000, { warmupDone: true })).toBeCloseTo(0.001, 15);
    const t = errorWarmup(() => 1, { lr: 0.02, threshold: 0.5 });
    expect(t.threshold).toBe(0.5);
    expect(t(3)).toBe(0.02);
  });

  it('linearWarmup: from start to the schedule value over warmupSteps, then the schedule', () => {
    const after = piecewiseConstant([100], [0.1, 0.01]);
    const s = linearWarmup(10, after);
    expect(s(0)).toBe(0);
    expect(s(1)).toBeCloseTo(0.01, 15);
    expect(s(5)).toBeCloseTo(0.05, 15);
    expect(s(9)).toBeCloseTo(0.09, 15);
    expect(s(10)).toBe(0.1);
    expect(s(99)).toBe(0.1);
    expect(s(100)).toBe(0.01);
    const t = linearWarmup(4, () => 0.5, 0.1);
    [0.1, 0.2, 0.3, 0.4, 0.5].forEach((v, k) => expect(t(k)).toBeCloseTo(v, 15));
    expect(linearWarmup(0, () => 0.7)(0)).toBe(0.7);
    expect(() => linearWarmup(-1, after)).toThrow(/warmupSteps must be a non-negative integer/);
  });

  it('cosine: base at 0, half-way at the middle, final at and after totalSteps', () => {
    const s = cosine({ base: 0.1, totalSteps: 100, final: 0.001 });
    expect(s(0)).toBe(0.1);
    expect(s(50)).toBeCloseTo((0.1 + 0.001) / 2, 15);
    expect(s(25)).toBeCloseTo(0.001 + (0.099 * (1 + Math.cos(Math.PI / 4))) / 2, 15);
    expect(s(100)).toBeCloseTo(0.001, 15);
    expect(s(1000)).toBeCloseTo(0.001, 15);
    expect(s(1)).toBeLessThan(s(0));
    expect(cosine({ base: 1, totalSteps: 10 })(10)).toBe(0);
    expect(() => cosine({ base: 1, totalSteps: 0 })).toThrow(/totalSteps must be positive/);
  });

  it('oneCycle: starts at maxLr/25, peaks at maxLr at pctStart, ends near maxLr/(25 * 1e4)', () => {
    const maxLr = 0.4;
    const total = 1000;
    const s = oneCycle({ maxLr, totalSteps: total });
    const peak = Math.round(0.3 * total) - 1; // PyTorch: the warm-up phase ends at pct_start * total - 1
    expect(s(0)).toBeCloseTo(maxLr / 25, 15);
    expect(s(peak)).toBeCloseTo(maxLr, 15);
    expect(s(peak - 1)).toBeLessThan(maxLr);
    expect(s(peak + 1)).toBeLessThan(maxLr);
    expect(s(total - 1)).toBeCloseTo(maxLr / (25 * 1e4), 15);
    // Increasing up to the peak, decreasing after.
    for (let t = 1; t <= peak; t++) expect(s(t)).toBeGreaterThan(s(t - 1));
    for (let t = peak + 1; t < total; t++) expect(s(t)).toBeLessThan(s(t - 1));
    // Half-way up: the cosine midpoint.
    const mid = oneCycle({ maxLr: 1, totalSteps: 101, pctStart: 0.5, divFactor: 10, finalDivFactor: 100 });
    expect(mid(0)).toBeCloseTo(0.1, 15);
    expect(mid(25)).toBeCloseTo((0.1 + 1) / 2, 15);
    expect(mid(50)).toBeCloseTo(1, 15);
    expect(mid(100)).toBeCloseTo(0.001, 15);
  });
});
