// Gradient correctness of every primitive (issue 2, "Tests"):
//  - each primitive's VJP rule against central finite differences of its reference
//    implementation, in float64, on random shapes and values (relative error < 1e-6);
//  - the dot-product test <u, J v> = <J^T u, v>, with J v from `jvp` and from finite
//    differences, and J^T u from the VJP rule;
//  - the binary library ops with NumPy broadcasting (size-1 and missing dims), through `vjp`;
//  - second derivatives (grad of grad) and `jvp` against analytic derivatives.
// Everything is driven by the `primitives` table: a primitive without a gradient-check case
// (or an explicit, justified "not differentiable" entry) makes the suite fail.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  abs,
  add,
  relu,
  type Aval,
  bind,
  div,
  exp,
  grad,
  jvp,
  matmul,
  maximum,
  minimum,
  mul,
  type Params,
  type PrimitiveDef,
  type PrimName,
  pow,
  primitives,
  type RefArray,
  setDefaultBackend,
  sin,
  softplus,
  stopGradient,
  sub,
  sum,
  type Tensor,
  tensor,
  vjp,
  where,
  cast,
  cos,
} from '@resgrad/core';
import {
  absDot,
  awayFromZero,
  distinct,
  dotArr,
  f64,
  fdDirectional,
  fdGrad,
  fill,
  type Host,
  host,
  relErr,
  rng,
  seedArb,
  shapeArb,
  type Sampler,
  sizeOf,
  toTensor,
  uniform,
} from './gradcheck.js';

beforeAll(() => setDefaultBackend('reference'));

// ---------------------------------------------------------------------------------------------
// Gradient-check cases, one per primitive.

/** One random application of a primitive: concrete inputs and params. */
interface Instance<P extends PrimName = PrimName> {
  readonly inputs: readonly Host[];
  readonly params: Params[P];
}

type Entry<P extends PrimName> =
  /** Checked against finite differences and by the dot-product test. */
  | { readonly kind: 'grad'; readonly gen: fc.Arbitrary<Instance<P>> }
  /** No gradient flows through it; its VJP must be absent or give null for every input. */
  | { readonly kind: 'none'; readonly why: string; readonly gen: fc.Arbitrary<Instance<P>> };

const isFloat = (d: string) => d === 'float32' || d === 'float64';

function boolHost(shape: readonly number[], seed: number): Host {
  const r = rng(seed);
  return host(shape, Uint8Array.from({ length: sizeOf(shape) }, () => (r() < 0.5 ? 1 : 0)), 'bool');
}

function intHost(shape: readonly number[], seed: number): Host {
  const r = rng(seed);
  return host(shape, Int32Array.from({ length: sizeOf(shape) }, () => Math.floor(r() * 2 ** 32) | 0), 'int32');
}

const unaryCase = <P extends PrimName>(sample: Sampler, params: Params[P], shapes = shapeArb(0, 3)): Entry<P> => ({
  kind: 'grad',
  gen: fc.record({ shape: shapes, seed: seedArb }).map(({ shape, seed }) => ({ inputs: [fill(shape, seed, sample)], params })),
});

const binaryCase = <P extends PrimName>(sa: Sampler, sb: Sampler): Entry<P> => ({
  kind: 'grad',
  gen: fc
    .record({ shape: shapeArb(0, 3), s1: seedArb, s2: seedArb })
    .map(({ shape, s1, s2 }) => ({ inputs: [fill(shape, s1, sa), fill(shape, s2, sb)], params: {} as Params[P] })),
});

/** b = a + d with |d| >= 0.05: no ties, and the finite-difference step never crosses a kink. */
const maxMinCase = <P extends PrimName>(): Entry<P> => ({
  kind: 'grad',
  gen: fc.record({ shape: shapeArb(0, 3), s1: seedArb, s2: seedArb }).map(({ shape, s1, s2 }) => {
    const a = fill(shape, s1);
    const d = fill(shape, s2, awayFromZero(0.05, 1));
    return { inputs: [a, host(shape, a.data.map((v, i) => v + d.data[i]!))], params: {} as Params[P] };
  }),
});

const compareCase = <P extends PrimName>(): Entry<P> => ({
  kind: 'none',
  why: 'comparisons output bool: piecewise constant, nothing to differentiate',
  gen: fc
    .record({ shape: shapeArb(0, 3), s1: seedArb, s2: seedArb })
    .map(({ shape, s1, s2 }) => ({ inputs: [fill(shape, s1), fill(shape, s2)], params: {} as Params[P] })),
});

/** Sorted axes of `rank` picked by a mask. */
const axesOf = (mask: readonly boolean[], rank: number) => mask.slice(0, rank).flatMap((m, i) => (m ? [i] : []));
const maskArb = fc.noBias(fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }));

/** Random convolution geometry (small: at most a few hundred multiply-adds per output). */
const convArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cg: fc.integer({ min: 1, max: 2 }),
    og: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 5 }),
    w: fc.integer({ min: 1, max: 5 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    pad: fc.tuple(...[0, 1, 2, 3].map(() => fc.noBias(fc.nat(2)))) as unknown as fc.Arbitrary<[number, number, number, number]>,
    s1: seedArb,
    s2: seedArb,
  })
  .map((c) => {
    const p: Params['conv2d'] = {
      stride: c.stride,
      padding: [[c.pad[0], c.pad[1]], [c.pad[2], c.pad[3]]],
      dilation: c.dilation,
      groups: c.groups,
    };
    const oh = Math.floor((c.h + c.pad[0] + c.pad[1] - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0]) + 1;
    const ow = Math.floor((c.w + c.pad[2] + c.pad[3] - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1]) + 1;
    const xShape = [c.n, c.groups * c.cg, c.h, c.w];
    const wShape = [c.groups * c.og, c.cg, c.kh, c.kw];
    const yShape = [c.n, c.groups * c.og, oh, ow];
    return { ...c, p, xShape, wShape, yShape, ok: oh >= 1 && ow >= 1 };
  })
  .filter((c) => c.ok);

const cases: { readonly [P in PrimName]?: Entry<P> } = {
  // Elementwise, unary. Domains keep log/sqrt/rsqrt positive, recip/abs/sign off zero.
  neg: unaryCase(uniform(-2, 2), {}),
  exp: unaryCase(uniform(-2, 2), {}),
  log: unaryCase(uniform(0.5, 3), {}),
  sqrt: unaryCase(uniform(0.5, 3), {}),
  rsqrt: unaryCase(uniform(0.5, 3), {}),
  recip: unaryCase(awayFromZero(0.5, 3), {}),
  sin: unaryCase(uniform(-3, 3), {}),
  cos: unaryCase(uniform(-3, 3), {}),
  tanh: unaryCase(uniform(-2, 2), {}),
  abs: unaryCase(awayFromZero(0.1, 2), {}),
  // Piecewise constant: the VJP is null, i.e. zero, which is what finite differences give off 0.
  sign: unaryCase(awayFromZero(0.1, 2), {}),
  // float64 -> float64 here; other dtype pairs are checked in 'cast across dtypes' below.
  cast: unaryCase(uniform(-2, 2), { dtype: 'float64' }),
  stopGradient: {
    kind: 'none',
    why: 'the identity whose gradient is zero by definition',
    gen: fc.record({ shape: shapeArb(0, 3), seed: seedArb }).map(({ shape, seed }) => ({ inputs: [fill(shape, seed)], params: {} })),
  },
  bitsToFloat: {
    kind: 'none',
    why: 'its input is int32 random bits',
    gen: fc
      .record({ shape: shapeArb(0, 3), seed: seedArb, dtype: fc.constantFrom('float32' as const, 'float64' as const) })
      .map(({ shape, seed, dtype }) => ({ inputs: [intHost(shape, seed)], params: { dtype } })),
  },
  // Elementwise, binary (operands of one shape; broadcasting is checked through the library ops).
  add: binaryCase(uniform(-2, 2), uniform(-2, 2)),
  sub: binaryCase(uniform(-2, 2), uniform(-2, 2)),
  mul: binaryCase(uniform(-2, 2), uniform(-2, 2)),
  div: binaryCase(uniform(-2, 2), awayFromZero(0.5, 2)),
  max: maxMinCase(),
  min: maxMinCase(),
  pow: binaryCase(uniform(0.5, 2), uniform(-2, 2)),
  eq: compareCase(),
  ne: compareCase(),
  lt: compareCase(),
  le: compareCase(),
  gt: compareCase(),
  ge: compareCase(),
  where: {
    kind: 'grad',
    gen: fc
      .record({ shape: shapeArb(0, 3), s0: seedArb, s1: seedArb, s2: seedArb })
      .map(({ shape, s0, s1, s2 }) => ({ inputs: [boolHost(shape, s0), fill(shape, s1), fill(shape, s2)], params: {} })),
  },
  // Reductions over a random subset of the axes (none and all included).
  sum: {
    kind: 'grad',
    gen: fc
      .record({ shape: shapeArb(0, 4, 3), mask: maskArb, seed: seedArb })
      .map(({ shape, mask, seed }) => ({ inputs: [fill(shape, seed)], params: { axes: axesOf(mask, shape.length) } })),
  },
  reduceMax: {
    kind: 'grad',
    gen: fc
      .record({ shape: shapeArb(0, 4, 3), mask: maskArb, seed: seedArb })
      .map(({ shape, mask, seed }) => ({ inputs: [distinct(shape, seed)], params: { axes: axesOf(mask, shape.length) } })),
  },
  // Movement.
  reshape: {
    kind: 'grad',
    gen: fc.record({ shape: shapeArb(0, 3), seed: seedArb, ps: seedArb }).map(({ shape, seed, ps }) => {
      // The dims in a random order with size-1 dims inserted.
      const r = rng(ps);
      const target = shape.map((d) => ({ d, k: r() })).sort((a, b) => a.k - b.k).map((e) => e.d);
      const ones = Math.floor(r() * 3);
      for (let i = 0; i < ones; i++) target.splice(Math.floor(r() * (target.length + 1)), 0, 1);
      return { inputs: [fill(shape, seed)], params: { shape: target } };
    }),
  },
  broadcast: {
    kind: 'grad',
    gen: fc
      .record({ out: shapeArb(0, 3), lead: fc.noBias(fc.nat(3)), mask: maskArb, seed: seedArb })
      .map(({ out, lead, mask, seed }) => {
        const drop = Math.min(lead, out.length);
        const inShape = out.slice(drop).map((d, i) => (mask[i] ? 1 : d));
        return { inputs: [fill(inShape, seed)], params: { shape: out } };
      }),
  },
  transpose: {
    kind: 'grad',
    gen: fc.record({ shape: shapeArb(0, 4, 3), seed: seedArb, ps: seedArb }).map(({ shape, seed, ps }) => {
      const r = rng(ps);
      const perm = shape.map((_, i) => ({ i, k: r() })).sort((a, b) => a.k - b.k).map((e) => e.i);
      return { inputs: [fill(shape, seed)], params: { perm } };
    }),
  },
  slice: {
    kind: 'grad',
    gen: fc.record({ shape: shapeArb(1, 3, 5), seed: seedArb, ps: seedArb }).map(({ shape, seed, ps }) => {
      const r = rng(ps);
      // Mostly non-empty ranges; now and then an empty one (end = start).
      const start = shape.map((d) => Math.floor(r() * Math.ceil(d / 2)));
      const end = shape.map((d, i) => (r() < 0.05 ? start[i]! : d - Math.floor((r() * (d - start[i]!)) / 2)));
      const step = shape.map(() => (r() < 0.5 ? 1 : r() < 0.7 ? 2 : 3));
      return { inputs: [fill(shape, seed)], params: { start, end, step } };
    }),
  },
  pad: {
    kind: 'grad',
    gen: fc.record({ shape: shapeArb(0, 3, 3), seed: seedArb, ps: seedArb }).map(({ shape, seed, ps }) => {
      const r = rng(ps);
      const n = () => Math.floor(r() * 3);
      return {
        inputs: [fill(shape, seed)],
        params: { lo: shape.map(n), hi: shape.map(n), interior: shape.map(n), value: r() * 4 - 2 },
      };
    }),
  },
  concat: {
    kind: 'grad',
    gen: fc
      .record({ shape: shapeArb(1, 3, 3), axisPick: fc.nat(2), sizes: fc.array(fc.noBias(fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 3 }), seed: seedArb })
      .map(({ shape, axisPick, sizes, seed }) => {
        const axis = axisPick % shape.length;
        const inputs = sizes.map((s, i) => fill(shape.map((d, k) => (k === axis ? s : d)), seed + i));
        return { inputs, params: { axis } };
      }),
  },
  // Library.
  dot: {
    kind: 'grad',
    gen: fc
      .record({ batch: shapeArb(0, 2, 3), m: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }), s1: seedArb, s2: seedArb })
      .map(({ batch, m, k, n, s1, s2 }) => ({ inputs: [fill([...batch, m, k], s1), fill([...batch, k, n], s2)], params: {} })),
  },
  conv2d: { kind: 'grad', gen: convArb.map((c) => ({ inputs: [fill(c.xShape, c.s1), fill(c.wShape, c.s2)], params: c.p })) },
  conv2dInputGrad: {
    kind: 'grad',
    gen: convArb.map((c) => ({ inputs: [fill(c.yShape, c.s1), fill(c.wShape, c.s2)], params: { ...c.p, inputShape: c.xShape } })),
  },
  conv2dWeightGrad: {
    kind: 'grad',
    gen: convArb.map((c) => ({ inputs: [fill(c.xShape, c.s1), fill(c.yShape, c.s2)], params: { ...c.p, weightShape: c.wShape } })),
  },
  // Sources.
  iota: {
    kind: 'none',
    why: 'no inputs: a constant',
    gen: fc
      .record({ shape: shapeArb(1, 3), axisPick: fc.nat(2), dtype: fc.constantFrom('float64' as const, 'int32' as const) })
      .map(({ shape, axisPick, dtype }) => ({ inputs: [], params: { shape, axis: axisPick % shape.length, dtype } })),
  },
  randomBits: {
    kind: 'none',
    why: 'its input is an int32 PRNG key and its output int32 bits',
    gen: fc
      .record({ shape: shapeArb(0, 3), seed: seedArb, stream: fc.nat() })
      .map(({ shape, seed, stream }) => ({ inputs: [intHost([2], seed)], params: { shape, stream } })),
  },
};

// ---------------------------------------------------------------------------------------------
// Evaluation.

type AnyDef = PrimitiveDef<PrimName> & {
  shape(inputs: readonly Aval[], params: unknown): Aval;
  reference(inputs: readonly RefArray[], params: unknown, out: Aval): import('@resgrad/core').TypedArray;
  vjp: ((i: number, ct: Tensor, inputs: readonly Tensor[], out: Tensor, params: unknown) => Tensor | null) | null;
};
const defOf = (name: PrimName) => primitives[name] as unknown as AnyDef;

/** The primitive on host arrays, through its reference implementation (the finite-difference oracle). */
function refEval(name: PrimName, inputs: readonly Host[], params: unknown): Float64Array {
  const def = defOf(name);
  const out = def.shape(inputs, params);
  return Float64Array.from(def.reference(inputs, params, out));
}

const applyPrim = (name: PrimName, params: unknown) => (...xs: Tensor[]) => bind(name, xs, params as never);

const names = Object.keys(primitives) as PrimName[];
const gradNames = names.filter((n) => cases[n]?.kind === 'grad');

/** The entry of `name`, failing the test when there is none. */
function entryOf(name: PrimName): Entry<PrimName> {
  const e = cases[name] as Entry<PrimName> | undefined;
  if (!e) throw new Error(`primitive '${name}' has no gradient-check case: add one to 'cases' in grad-primitives.test.ts`);
  return e;
}

describe('gradient-check coverage', () => {
  it.each(names)('%s has a gradient-check case or a justified "not differentiable" entry', (name) => {
    const e = entryOf(name);
    if (e.kind === 'none') expect(e.why.length).toBeGreaterThan(10);
  });
  it('has no case for an unknown primitive', () => {
    expect(Object.keys(cases).filter((n) => !(n in primitives))).toEqual([]);
  });
});

describe('gradient-check generators', () => {
  // Guards the distributions: most instances must be non-trivial, with several output elements
  // (for reductions: several input elements).
  it.each(gradNames)('%s: most instances are non-trivial', (name) => {
    const samples = fc.sample(entryOf(name).gen, 40);
    const def = defOf(name);
    const big = samples.filter(({ inputs, params }) =>
      def.kind === 'reduce' ? sizeOf(inputs[0]!.shape) > 1 : sizeOf(def.shape(inputs, params).shape) > 1,
    );
    expect(big.length).toBeGreaterThanOrEqual(samples.length / 2);
  });
});

describe('VJP rules against central finite differences (float64)', () => {
  it.each(names)('%s', (name) => {
    const e = entryOf(name);
    if (e.kind !== 'grad') return; // checked in 'non-differentiable primitives'
    const def = defOf(name);
    fc.assert(
      fc.property(e.gen, seedArb, ({ inputs, params }, us) => {
        const ts = inputs.map(toTensor);
        const out = bind(name, ts, params as never);
        expect(out.dtype).toBe('float64');
        // The forward pass the VJP is taken of is the reference one the differences use.
        expect(Array.from(f64(out))).toEqual(Array.from(refEval(name, inputs, params)));
        const u = fill(out.shape, us);
        const ct = toTensor(u);
        inputs.forEach((x, i) => {
          const g = def.vjp ? def.vjp(i, ct, ts, out, params) : null;
          if (!isFloat(x.dtype)) {
            expect(g, `input ${i} (${x.dtype}) must get no gradient`).toBeNull();
            return;
          }
          if (g) {
            expect(g.shape).toEqual(x.shape);
            expect(g.dtype).toBe('float64');
          }
          const an = g ? f64(g) : new Float64Array(x.data.length);
          const fd = fdGrad((ins) => refEval(name, ins, params), inputs, i, u.data);
          const err = relErr(an, fd);
          if (!(err < 1e-6))
            throw new Error(`${name} input ${i} [${x.shape}]: relative error ${err}\n  vjp ${Array.from(an)}\n  fd  ${Array.from(fd)}`);
        });
      }),
      { numRuns: name.startsWith('conv') ? 20 : 30 },
    );
  });
});

describe('dot-product test <u, J v> = <J^T u, v> (float64)', () => {
  it.each(names)('%s', (name) => {
    const e = entryOf(name);
    if (e.kind !== 'grad') return;
    const def = defOf(name);
    fc.assert(
      fc.property(e.gen, seedArb, seedArb, ({ inputs, params }, us, vs) => {
        const ts = inputs.map(toTensor);
        const out = bind(name, ts, params as never);
        const u = fill(out.shape, us).data as Float64Array;
        const v = inputs.map((x, i) => (isFloat(x.dtype) ? (fill(x.shape, vs + i).data as Float64Array) : null));
        // J^T u from the VJP rule.
        let rhs = 0;
        let scale = 0;
        inputs.forEach((x, i) => {
          const g = isFloat(x.dtype) && def.vjp ? def.vjp(i, toTensor(host(out.shape, u)), ts, out, params) : null;
          if (g) {
            rhs += dotArr(f64(g), v[i]!);
            scale += absDot(f64(g), v[i]!);
          }
        });
        // J v by forward mode.
        const tangents = inputs.map((x, i) => toTensor(host(x.shape, v[i] ?? new Float64Array(x.data.length))));
        const [, jv] = jvp(applyPrim(name, params), ts, tangents) as [Tensor, Tensor];
        expect(jv.shape).toEqual(out.shape);
        const lhs = dotArr(u, f64(jv));
        scale += absDot(u, f64(jv));
        if (!(Math.abs(lhs - rhs) <= 1e-10 * scale))
          throw new Error(`${name}: <u, J v> = ${lhs} (jvp) but <J^T u, v> = ${rhs}`);
        // J v by central differences along v.
        const lhsFd = fdDirectional((ins) => refEval(name, ins, params), inputs, v, u);
        if (!(Math.abs(lhsFd - rhs) <= 1e-6 * scale))
          throw new Error(`${name}: <u, J v> = ${lhsFd} (finite differences) but <J^T u, v> = ${rhs}`);
      }),
      { numRuns: name.startsWith('conv') ? 20 : 30 },
    );
  });
});

describe('non-differentiable primitives', () => {
  const none = names.filter((n) => cases[n]?.kind === 'none');
  it.each(none)('%s: the VJP is absent or null for every input', (name) => {
    const e = entryOf(name);
    const def = defOf(name);
    fc.assert(
      fc.property(e.gen, ({ inputs, params }) => {
        const ts = inputs.map(toTensor);
        const out = bind(name, ts, params as never);
        const ct = toTensor(fill(out.shape, 1));
        inputs.forEach((_, i) => expect(def.vjp ? def.vjp(i, ct, ts, out, params) : null).toBeNull());
      }),
      { numRuns: 10 },
    );
  });

  it('stopGradient: the gradient does not flow through it, but the value does', () => {
    const x = tensor([0.5, -1.5, 2], { dtype: 'float64' });
    // d/dx [sg(x) * x] = sg(x) = x
    expect(grad((t: Tensor) => sum(mul(stopGradient(t), t)))(x).toArray()).toEqual([0.5, -1.5, 2]);
    const [, t] = jvp((a: Tensor) => stopGradient(a), [x], [tensor([1, 1, 1], { dtype: 'float64' })]);
    expect((t as Tensor).toArray()).toEqual([0, 0, 0]);
  });

  it('cast across dtypes: float-to-float casts carry the cotangent back in the input dtype, integer casts none', () => {
    const x = tensor([0.25, -1.5, 3], { dtype: 'float64' });
    const x32 = tensor([0.25, -1.5, 3], { dtype: 'float32' });
    const def = defOf('cast');
    const to32 = bind('cast', [x], { dtype: 'float32' });
    const g = def.vjp!(0, tensor([1, 2, 3], { dtype: 'float32' }), [x], to32, { dtype: 'float32' })!;
    expect(g.dtype).toBe('float64');
    expect(g.toArray()).toEqual([1, 2, 3]);
    const to64 = bind('cast', [x32], { dtype: 'float64' });
    const g32 = def.vjp!(0, tensor([1, 2, 3], { dtype: 'float64' }), [x32], to64, { dtype: 'float64' })!;
    expect(g32.dtype).toBe('float32');
    expect(g32.toArray()).toEqual([1, 2, 3]);
    const toInt = bind('cast', [x], { dtype: 'int32' });
    expect(def.vjp!(0, toInt, [x], toInt, { dtype: 'int32' })).toBeNull();
    // Through grad: float32 round trip scales nothing; an int round trip kills the gradient.
    expect(grad((t: Tensor) => sum(mul(cast(cast(t, 'float32'), 'float64'), 2)))(x).toArray()).toEqual([2, 2, 2]);
    expect(grad((t: Tensor) => sum(cast(cast(t, 'int32'), 'float64')))(x).toArray()).toEqual([0, 0, 0]);
  });

  it('documented one-sided choices at kinks: max/min ties go to the first operand; abs, sign and relu have slope 0 at 0', () => {
    const a = tensor([1, 2, -1], { dtype: 'float64' });
    const b = tensor([1, 0, -1], { dtype: 'float64' });
    for (const op of [maximum, minimum]) {
      const [, back] = vjp(op, a, b);
      const [ga, gb] = back(tensor([1, 1, 1], { dtype: 'float64' })) as Tensor[];
      expect(ga!.toArray()).toEqual(op === maximum ? [1, 1, 1] : [1, 0, 1]);
      expect(gb!.toArray()).toEqual(op === maximum ? [0, 0, 0] : [0, 1, 0]);
    }
    const z = tensor([0, 0], { dtype: 'float64' });
    expect(grad((t: Tensor) => sum(abs(t)))(z).toArray()).toEqual([0, 0]);
    expect(grad((t: Tensor) => sum(relu(t)))(z).toArray()).toEqual([0, 0]);
  });

  it('reduceMax shares the cotangent equally among tied maxima', () => {
    const x = tensor([[1, 3, 3], [2, 2, 2]], { dtype: 'float64' });
    const g = grad((t: Tensor) => sum(bind('reduceMax', [t], { axes: [1] })))(x) as Tensor;
    expect(g.toArray()).toEqual([[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]);
  });
});

// ---------------------------------------------------------------------------------------------
// Library ops with broadcasting: operand shapes with size-1 and missing leading dims.

/** An output shape and two operand shapes that broadcast to it. */
const broadcastPairArb = fc
  .record({ out: shapeArb(0, 3), leadA: fc.noBias(fc.nat(3)), leadB: fc.noBias(fc.nat(3)), maskA: maskArb, maskB: maskArb, s1: seedArb, s2: seedArb, s3: seedArb })
  .map(({ out, leadA, leadB, maskA, maskB, s1, s2, s3 }) => {
    const operand = (lead: number, mask: readonly boolean[]) => out.slice(Math.min(lead, out.length)).map((d, i) => (mask[i] ? 1 : d));
    return { out, a: operand(leadA, maskA), b: operand(leadB, maskB), s1, s2, s3 };
  });

type LibCase = {
  readonly f: (a: Tensor, b: Tensor, c: Tensor) => Tensor;
  readonly make: (a: number[], b: number[], s1: number, s2: number) => [Host, Host];
};

const plain = (sa: Sampler, sb: Sampler) => (a: number[], b: number[], s1: number, s2: number): [Host, Host] => [fill(a, s1, sa), fill(b, s2, sb)];
/** All values of both operands pairwise distinct: no ties between any broadcast pair. */
const untied = (a: number[], b: number[], s1: number): [Host, Host] => {
  const all = distinct([sizeOf(a) + sizeOf(b)], s1);
  return [host(a, all.data.slice(0, sizeOf(a))), host(b, all.data.slice(sizeOf(a)))];
};

const libCases: Record<string, LibCase> = {
  add: { f: add, make: plain(uniform(-2, 2), uniform(-2, 2)) },
  sub: { f: sub, make: plain(uniform(-2, 2), uniform(-2, 2)) },
  mul: { f: mul, make: plain(uniform(-2, 2), uniform(-2, 2)) },
  div: { f: div, make: plain(uniform(-2, 2), awayFromZero(0.5, 2)) },
  pow: { f: pow, make: plain(uniform(0.5, 2), uniform(-2, 2)) },
  maximum: { f: maximum, make: untied },
  minimum: { f: minimum, make: untied },
  'where (condition broadcast to the output)': { f: (a, b, c) => where(c, a, b), make: plain(uniform(-2, 2), uniform(-2, 2)) },
};

describe('library binary ops with broadcasting: vjp against finite differences (float64)', () => {
  it.each(Object.keys(libCases))('%s', (name) => {
    const { f, make } = libCases[name]!;
    fc.assert(
      fc.property(broadcastPairArb, seedArb, ({ out, a, b, s1, s2, s3 }, us) => {
        const inputs = make(a, b, s1, s2);
        const cond = boolHost(out, s3);
        const run = (ins: readonly Host[]) => f64(f(toTensor(ins[0]!), toTensor(ins[1]!), toTensor(cond)));
        const [y, back] = vjp((p: Tensor, q: Tensor) => f(p, q, toTensor(cond)), toTensor(inputs[0]), toTensor(inputs[1]));
        // The result has the broadcast shape of the operands (and of the condition for where).
        const rank = Math.max(a.length, b.length);
        const dimOf = (s: readonly number[], i: number) => s[s.length - rank + i] ?? 1;
        const full = Array.from({ length: rank }, (_, i) => Math.max(dimOf(a, i), dimOf(b, i)));
        expect((y as Tensor).shape).toEqual(name.startsWith('where') ? out : full);
        const u = fill((y as Tensor).shape, us);
        const gs = back(toTensor(u)) as Tensor[];
        for (const i of [0, 1]) {
          expect(gs[i]!.shape).toEqual(inputs[i]!.shape);
          const err = relErr(f64(gs[i]!), fdGrad(run, inputs, i, u.data));
          if (!(err < 1e-6)) throw new Error(`${name} operand ${i} [${inputs[i]!.shape}] -> [${out}]: relative error ${err}`);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('matmul with broadcast batch dims and vector operands', () => {
    const arb = fc.record({
      batchA: shapeArb(0, 2, 2),
      batchB: shapeArb(0, 2, 2),
      m: fc.integer({ min: 0, max: 3 }), // 0: a vector operand
      k: fc.integer({ min: 1, max: 3 }),
      n: fc.integer({ min: 0, max: 3 }),
      s1: seedArb,
      s2: seedArb,
      us: seedArb,
    });
    fc.assert(
      fc.property(arb, ({ batchA, batchB, m, k, n, s1, s2, us }) => {
        // Make the batch dims broadcast-compatible: where both exist and differ, use 1 in A.
        const bA = batchA.map((d, i) => {
          const j = batchB.length - batchA.length + i;
          return j >= 0 && batchB[j] !== d && batchB[j] !== 1 ? 1 : d;
        });
        const aShape = m === 0 ? [k] : [...bA, m, k];
        const bShape = n === 0 ? [k] : [...batchB, k, n];
        const inputs = [fill(aShape, s1), fill(bShape, s2)];
        const run = (ins: readonly Host[]) => f64(matmul(toTensor(ins[0]!), toTensor(ins[1]!)));
        const [y, back] = vjp(matmul, toTensor(inputs[0]!), toTensor(inputs[1]!));
        const u = fill((y as Tensor).shape, us);
        const gs = back(toTensor(u)) as Tensor[];
        for (const i of [0, 1]) {
          const err = relErr(f64(gs[i]!), fdGrad(run, inputs, i, u.data));
          if (!(err < 1e-6)) throw new Error(`matmul operand ${i} [${aShape}] x [${bShape}]: relative error ${err}`);
        }
      }),
      { numRuns: 20 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Second derivatives and forward mode against analytic derivatives.

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const analytic: Record<string, { f: (x: Tensor) => Tensor; d1: (x: number) => number; d2: (x: number) => number; d3?: (x: number) => number }> = {
  sin: { f: sin, d1: Math.cos, d2: (x) => -Math.sin(x), d3: (x) => -Math.cos(x) },
  exp: { f: exp, d1: Math.exp, d2: Math.exp, d3: Math.exp },
  'x^3 (pow)': { f: (x) => pow(x, 3), d1: (x) => 3 * x * x, d2: (x) => 6 * x, d3: () => 6 },
  'x^3 (x * x * x)': { f: (x) => mul(x, mul(x, x)), d1: (x) => 3 * x * x, d2: (x) => 6 * x, d3: () => 6 },
  softplus: { f: softplus, d1: sigmoid, d2: (x) => sigmoid(x) * (1 - sigmoid(x)) },
  cos: { f: cos, d1: (x) => -Math.sin(x), d2: (x) => -Math.cos(x) },
};

/** Values in [-3, 3], 0 included; tiny ones are flushed to 0 so that no result is subnormal (where rounding is absolute). */
const valuesArb = fc.array(
  fc.double({ min: -3, max: 3, noNaN: true }).map((v) => (Math.abs(v) < 1e-100 ? 0 : v)),
  { minLength: 1, maxLength: 6 },
);

const sumOf = (f: (x: Tensor) => Tensor) => (x: Tensor) => sum(f(x));
const close = (got: Tensor, want: number[], tol = 1e-12) => {
  const err = relErr(f64(got), want);
  if (!(err <= tol)) throw new Error(`got ${Array.from(f64(got))}, want ${want} (relative error ${err})`);
};

describe('second derivatives and jvp against analytic derivatives', () => {
  it.each(Object.keys(analytic))('grad(grad(%s))', (name) => {
    const { f, d1, d2, d3 } = analytic[name]!;
    fc.assert(
      fc.property(valuesArb, (vals) => {
        const x = tensor(vals, { dtype: 'float64' });
        const g1 = grad(sumOf(f));
        const g2 = grad(sumOf(g1));
        close(g1(x), vals.map(d1));
        close(g2(x), vals.map(d2));
        if (d3) close(grad(sumOf(g2))(x), vals.map(d3));
      }),
    );
  });

  it.each(Object.keys(analytic))('jvp of %s and of its gradient', (name) => {
    const { f, d1, d2 } = analytic[name]!;
    fc.assert(
      fc.property(valuesArb, seedArb, (vals, vs) => {
        const x = tensor(vals, { dtype: 'float64' });
        const v = Array.from(fill([vals.length], vs).data);
        const [y, t] = jvp(f, [x], [tensor(v, { dtype: 'float64' })]) as [Tensor, Tensor];
        close(y, Array.from(f64(f(x))), 0);
        close(t, vals.map((a, i) => d1(a) * v[i]!));
        // Forward over reverse: a Hessian-vector product (diagonal here).
        const [, hv] = jvp(grad(sumOf(f)), [x], [tensor(v, { dtype: 'float64' })]) as [Tensor, Tensor];
        close(hv, vals.map((a, i) => d2(a) * v[i]!));
      }),
    );
  });

  it('softplus: exact derivatives at 0 and finite values and gradients far out', () => {
    const x = tensor([0, -800, 800, -40, 40], { dtype: 'float64' });
    const sp = f64(softplus(x));
    // Absolute accuracy for the values (there is no log1p primitive: log(1 + 4e-18) rounds to 0).
    [Math.LN2, 0, 800, Math.log1p(Math.exp(-40)), 40 + Math.log1p(Math.exp(-40))].forEach((v, i) => expect(sp[i]).toBeCloseTo(v, 15));
    const g1 = grad(sumOf(softplus));
    expect(relErr(f64(g1(x)), [0.5, 0, 1, sigmoid(-40), sigmoid(40)])).toBeLessThan(1e-15);
    const g2 = f64(grad(sumOf(g1))(x));
    expect(g2[0]).toBe(0.25);
    expect(Array.from(g2).every(Number.isFinite)).toBe(true);
  });

  it('the Hessian-vector product of a coupled function matches finite differences of its gradient', () => {
    // f(x) = sum(softplus(A x) * c) + sum(sin(x)^2): a full (not diagonal) Hessian.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), seedArb, (m, n, s) => {
        const A = toTensor(fill([m, n], s));
        const c = toTensor(fill([m], s + 1));
        const x = fill([n], s + 2, uniform(-2, 2));
        const v = fill([n], s + 3).data as Float64Array;
        const f = (t: Tensor) => add(sum(mul(softplus(matmul(A, t)), c)), sum(mul(sin(t), sin(t))));
        const g = grad(f);
        const [, hv] = jvp(g, [toTensor(x)], [toTensor(host([n], v))]) as [Tensor, Tensor];
        const hvRev = grad((t: Tensor) => sum(mul(g(t), toTensor(host([n], v)))))(toTensor(x)) as Tensor;
        // Central differences of the gradient along v.
        const gAt = (sgn: number) => f64(g(toTensor(host([n], x.data.map((a, i) => a + sgn * 1e-5 * v[i]!)))));
        const gp = gAt(1);
        const gm = gAt(-1);
        const fd = gp.map((a, i) => (a - gm[i]!) / 2e-5);
        expect(relErr(f64(hv), fd)).toBeLessThan(1e-6);
        expect(relErr(f64(hvRev), f64(hv))).toBeLessThan(1e-12);
      }),
      { numRuns: 15 },
    );
  });
});
