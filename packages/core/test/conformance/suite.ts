// The backend conformance suite: every backend runs it (`describeConformance(name)`) and must
// agree with the reference backend — exactly for int32/bool results, to a small relative
// tolerance for floats (float32 transcendentals may differ by an ulp of a libm; float64
// reductions may be summed in another order).
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  abs, add, cast, concat, conv2d, cos, div, equal, exp, getBackend, grad, greater, greaterEqual, jit, less, lessEqual, log,
  matmul, max, maximum, mean, minimum, mul, neg, notEqual, pad, pow, random, reciprocal, relu, reshape, rsqrt, sign, sin,
  slice, sqrt, sub, sum, tanh, tensor, toBackend, transpose, valueAndGrad, variance, where, broadcastTo, square, arange,
  type DType, type Tensor, type TypedArray,
} from '@resgrad/core';

const REF = 'reference';
type Op = (...xs: Tensor[]) => Tensor;

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL_F = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 3e38, -1e-30, 2.5, -2.5, 1e10];
const SPECIAL_I = [0, 1, -1, 2, -2, 7, -7, 2147483647, -2147483648, 65536, 46341];

/** Random host data of `dtype`, with special values mixed in when `special`. */
function randomData(dtype: DType, n: number, seed: number, opts: { special?: boolean; positive?: boolean } = {}): TypedArray {
  const rng = mulberry32(seed);
  const out =
    dtype === 'float32' ? new Float32Array(n) : dtype === 'float64' ? new Float64Array(n) : dtype === 'int32' ? new Int32Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng();
    if (dtype === 'bool') out[i] = r < 0.5 ? 1 : 0;
    else if (dtype === 'int32') out[i] = opts.special && r < 0.3 ? SPECIAL_I[Math.floor(rng() * SPECIAL_I.length)]! : Math.floor(rng() * 41) - 20;
    else if (opts.special && r < 0.25) out[i] = SPECIAL_F[Math.floor(rng() * SPECIAL_F.length)]!;
    else out[i] = opts.positive ? 0.05 + rng() * 4 : rng() * 8 - 4;
  }
  return out;
}

/** Relative tolerance of a float result. */
const tolFor = (dtype: DType, loose = false) => (dtype === 'float32' ? (loose ? 2e-4 : 1e-5) : loose ? 1e-9 : 1e-12);

/** Exact for int32/bool (and for special values), relative `rtol` for finite floats. */
export function expectMatches(got: Tensor, want: Tensor, label: string, rtol?: number): void {
  expect(got.shape, `${label}: shape`).toEqual(want.shape);
  expect(got.dtype, `${label}: dtype`).toBe(want.dtype);
  const g = got.data();
  const w = want.data();
  const float = want.dtype === 'float32' || want.dtype === 'float64';
  const tol = rtol ?? tolFor(want.dtype);
  // An explicit tolerance is for results of long sums (matmul, conv, reductions, gradients),
  // whose rounding error scales with the terms rather than with a cancelled result: the
  // error allowed is relative to max(|want|, mean |want|).
  let scale = 0;
  if (rtol !== undefined) {
    let n = 0;
    for (const v of w) if (Number.isFinite(v)) (scale += Math.abs(v)), n++;
    scale = n ? scale / n : 0;
  }
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    const ok = float && Number.isFinite(b) && Math.abs(a - b) <= tol * Math.max(Math.abs(b), scale, 1e-300);
    if (!ok) expect.fail(`${label}: element ${i} is ${a}, reference gives ${b}`);
  }
}

const on = (backend: string, data: TypedArray, shape: readonly number[], dtype: DType) => tensor(data, { shape, dtype, backend });

/** Checks op on the backend (eager, and jitted with a movement prologue that fuses) against eager reference. */
function checkOp(backend: string, label: string, op: Op, inputs: { data: TypedArray; shape: number[]; dtype: DType }[], rtol?: number) {
  const ref = inputs.map((x) => on(REF, x.data, x.shape, x.dtype));
  const mine = inputs.map((x) => on(backend, x.data, x.shape, x.dtype));
  const want = op(...ref);
  expectMatches(op(...mine), want, `${label} eager`, rtol);
  // Jitted: pad-then-slice makes every load an index expression with a validity condition.
  const viaPad = (x: Tensor) => slice(pad(x, x.shape.map(() => [1, 1] as const)), x.shape.map(() => 1), x.shape.map((d) => d + 1));
  expectMatches(jit((...xs: Tensor[]) => op(...xs.map(viaPad)))(...mine), want, `${label} jit`, rtol);
}

const UNARY_F: [string, Op, { positive?: boolean; loose?: boolean }?][] = [
  ['neg', neg], ['exp', exp], ['log', log, { positive: true }], ['sqrt', sqrt, { positive: true }], ['rsqrt', rsqrt, { positive: true }],
  ['reciprocal', reciprocal], ['sin', sin], ['cos', cos], ['tanh', tanh], ['abs', abs], ['sign', sign], ['square', square],
];
const BINARY: [string, Op, DType[]][] = [
  ['add', add, ['float32', 'float64', 'int32']], ['sub', sub, ['float32', 'float64', 'int32']], ['mul', mul, ['float32', 'float64', 'int32']],
  ['div', div, ['float32', 'float64', 'int32']], ['maximum', maximum, ['float32', 'float64', 'int32']],
  ['minimum', minimum, ['float32', 'float64', 'int32']], ['pow', pow, ['float32', 'float64', 'int32']],
  ['equal', equal, ['float32', 'int32', 'bool']], ['notEqual', notEqual, ['float64', 'int32', 'bool']], ['less', less, ['float32', 'int32']],
  ['lessEqual', lessEqual, ['float64', 'int32']], ['greater', greater, ['float32', 'int32']], ['greaterEqual', greaterEqual, ['float32', 'float64']],
];
const DTYPES: DType[] = ['float32', 'float64', 'int32', 'bool'];

/**
 * Registers the conformance tests of backend `backendName` (which must be registered and
 * available), comparing it with the reference backend.
 */
export function describeConformance(backendName: string): void {
  describe(`conformance: ${backendName}`, () => {
    it('is available', () => {
      expect(getBackend(backendName).name).toBe(backendName);
    });

    describe('unary primitives (float32, float64, with special values)', () => {
      for (const [name, op, o] of UNARY_F)
        it(name, () => {
          for (const [j, dtype] of (['float32', 'float64'] as DType[]).entries())
            checkOp(backendName, `${name} ${dtype}`, op, [{ data: randomData(dtype, 24, 11 + j, { special: true, positive: o?.positive }), shape: [4, 6], dtype }]);
        });
      it('neg, abs, sign on int32 (wrapping at INT_MIN)', () => {
        for (const op of [neg, abs, sign]) checkOp(backendName, `int32 ${op.name}`, op, [{ data: randomData('int32', 22, 5, { special: true }), shape: [2, 11], dtype: 'int32' }]);
      });
    });

    describe('binary primitives', () => {
      for (const [name, op, dtypes] of BINARY)
        it(name, () => {
          for (const [j, dtype] of dtypes.entries()) {
            // int32 pow is the truncated double power: beyond 2^53 its low bits depend on the
            // last ulp of a libm's pow, so integer powers are tested where they are exact.
            const intPow = name === 'pow' && dtype === 'int32';
            const a = { data: randomData(dtype, 30, 100 + j, { special: !intPow }), shape: [5, 6], dtype };
            const b = { data: randomData(dtype, 30, 200 + j, { special: !intPow }), shape: [5, 6], dtype };
            if (intPow) b.data.forEach((v, i) => (b.data[i] = Math.abs(v) % 6));
            checkOp(backendName, `${name} ${dtype}`, op, [a, b]);
          }
        });
      it('broadcasting operands', () => {
        const a = { data: randomData('float32', 12, 7), shape: [3, 4], dtype: 'float32' as DType };
        const b = { data: randomData('float32', 4, 8), shape: [1, 4], dtype: 'float32' as DType };
        checkOp(backendName, 'add broadcast', (x, y) => add(x, broadcastTo(y, [3, 4])), [a, b]);
      });
    });

    it('where and cast between every pair of dtypes', () => {
      for (const [i, from] of DTYPES.entries())
        for (const to of DTYPES)
          checkOp(backendName, `cast ${from}->${to}`, (x) => cast(x, to), [{ data: randomData(from, 26, 300 + i, { special: true }), shape: [2, 13], dtype: from }]);
      for (const dtype of DTYPES) {
        const c = { data: randomData('bool', 12, 1), shape: [3, 4], dtype: 'bool' as DType };
        checkOp(backendName, `where ${dtype}`, where as Op, [c, { data: randomData(dtype, 12, 2, { special: true }), shape: [3, 4], dtype }, { data: randomData(dtype, 12, 3), shape: [3, 4], dtype }]);
      }
    });

    it('reductions: sum, max, mean, variance over axes', () => {
      for (const dtype of ['float32', 'float64', 'int32'] as DType[]) {
        const x = { data: randomData(dtype, 2 * 3 * 5 * 7, 9), shape: [2, 3, 5, 7], dtype };
        for (const axes of [[0], [1], [3], [0, 2, 3], [0, 1, 2, 3]]) {
          checkOp(backendName, `sum ${dtype} ${axes}`, (t) => sum(t, axes), [x], tolFor(dtype, true));
          checkOp(backendName, `max ${dtype} ${axes}`, (t) => max(t, axes), [x]);
        }
        if (dtype !== 'int32') checkOp(backendName, `mean/variance ${dtype}`, (t) => add(mean(t, [0, 2, 3]), variance(t, [0, 2, 3])), [x], tolFor(dtype, true));
      }
      const nan = { data: randomData('float32', 40, 4, { special: true }), shape: [5, 8], dtype: 'float32' as DType };
      checkOp(backendName, 'max with NaN and infinities', (t) => max(t, [1]), [nan]);
    });

    it('movement: reshape, transpose, broadcast, slice with steps, pad, concat', () => {
      for (const dtype of DTYPES) {
        const x = { data: randomData(dtype, 24, 21), shape: [2, 3, 4], dtype };
        checkOp(backendName, `movement ${dtype}`, (t) =>
          concat([reshape(transpose(t, [2, 0, 1]), [4, 6]), slice(pad(reshape(t, [4, 6]), [[1, 2], [0, 0]]), [0, 0], [7, 6], [2, 1])], 0), [x]);
      }
    });

    it('matmul (float32, float64, int32, batched) and iota', () => {
      for (const dtype of ['float32', 'float64', 'int32'] as DType[]) {
        const a = { data: randomData(dtype, 2 * 5 * 7, 31), shape: [2, 5, 7], dtype };
        const b = { data: randomData(dtype, 2 * 7 * 3, 32), shape: [2, 7, 3], dtype };
        checkOp(backendName, `matmul ${dtype}`, matmul as Op, [a, b], tolFor(dtype, true));
      }
      expectMatches(arange(0, 17, 1, { backend: backendName, dtype: 'float32' }), arange(0, 17, 1, { backend: REF, dtype: 'float32' }), 'arange');
    });

    it('conv2d and its gradients (stride, padding, groups)', () => {
      for (const dtype of ['float32', 'float64'] as DType[]) {
        for (const [stride, padding, groups] of [[1, 1, 1], [2, 1, 1], [1, 0, 2]] as const) {
          const x = { data: randomData(dtype, 2 * 4 * 6 * 6, 41), shape: [2, 4, 6, 6], dtype };
          const w = { data: randomData(dtype, 6 * (4 / groups) * 9, 42), shape: [6, 4 / groups, 3, 3], dtype };
          const f = (a: Tensor, b: Tensor) => sum(mul(conv2d(a, b, { stride, padding, groups }), conv2d(a, b, { stride, padding, groups })));
          checkOp(backendName, `conv2d ${dtype} s${stride} p${padding} g${groups}`, (a, b) => conv2d(a, b, { stride, padding, groups }), [x, w], tolFor(dtype, true));
          const g = grad(f, { argnums: [0, 1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[];
          const ref = g(on(REF, x.data, x.shape, dtype), on(REF, w.data, w.shape, dtype));
          const mine = jit(g)(on(backendName, x.data, x.shape, dtype), on(backendName, w.data, w.shape, dtype));
          ref.forEach((r, i) => expectMatches(mine[i]!, r, `conv grad ${i} ${dtype}`, tolFor(dtype, true)));
        }
      }
    });

    it('a conv/BN/ReLU/residual block: forward and backward under jit', () => {
      const dtype = 'float32';
      const x = randomData(dtype, 4 * 8 * 8 * 8, 51);
      const w1 = randomData(dtype, 8 * 8 * 9, 52);
      const w2 = randomData(dtype, 8 * 8 * 9, 53);
      const gamma = randomData(dtype, 8, 54, { positive: true });
      const bn = (h: Tensor, g: Tensor) => {
        const m = mean(h, [0, 2, 3], { keepDims: true });
        const v = variance(h, [0, 2, 3], { keepDims: true });
        return mul(mul(sub(h, m), rsqrt(add(v, 1e-5))), reshape(g, [1, 8, 1, 1]));
      };
      const block = (xx: Tensor, a: Tensor, b: Tensor, g: Tensor) => {
        const h = relu(bn(conv2d(xx, a, { padding: 1 }), g));
        return sum(square(relu(add(bn(conv2d(h, b, { padding: 1 }), g), xx))));
      };
      const vg = valueAndGrad(block, { argnums: [0, 1, 2, 3] }) as unknown as (...a: Tensor[]) => [Tensor, Tensor[]];
      const args = (b: string) => [on(b, x, [4, 8, 8, 8], dtype), on(b, w1, [8, 8, 3, 3], dtype), on(b, w2, [8, 8, 3, 3], dtype), on(b, gamma, [8], dtype)];
      const [v0, g0] = vg(...args(REF));
      const [v1, g1] = jit(vg)(...args(backendName));
      expectMatches(v1, v0, 'block value', 1e-4);
      g0.forEach((r, i) => expectMatches(g1[i]!, r, `block grad ${i}`, 2e-3));
    });

    it('random bits, uniform and normal are bit-identical to the reference', () => {
      for (const seed of [0, 42, 2 ** 40 + 3]) {
        const draw = (b: string) => {
          const [k1, k2, k3] = random.split(random.key(seed, { backend: b }), 3);
          return [random.uniform(k1!, [3, 17]), random.normal(k2!, [50], { dtype: 'float64' }), random.randint(k3!, [20], -5, 9)];
        };
        const want = draw(REF);
        // Bits, uniform and float32 normal are bit-identical; float64 normal goes through
        // log/sqrt/cos in double, where two libms may differ in the last ulp.
        draw(backendName).forEach((t, i) => expectMatches(t, want[i]!, `random ${seed} ${i}`, i === 1 ? 1e-15 : 0));
        const n32 = (b: string) => random.normal(random.key(seed + 1, { backend: b }), [64]);
        expectMatches(n32(backendName), n32(REF), `float32 normal ${seed}`, 0);
        const jitted = jit((k: Tensor) => random.uniform(k, [1000]))(random.key(seed, { backend: backendName }));
        expectMatches(jitted, random.uniform(random.key(seed, { backend: REF }), [1000]), `jitted uniform ${seed}`, 0);
      }
    });

    describe('random programs (jitted on the backend vs eager reference), with gradients', () => {
      test.prop([programArb], { numRuns: Number(process.env.FC_CONFORMANCE_RUNS ?? 12) })('agree', ({ prog, inputs }) => {
        const ref = inputs.map((d) => on(REF, d.data, d.shape, 'float64'));
        const mine = inputs.map((d) => on(backendName, d.data, d.shape, 'float64'));
        const want = prog(...ref);
        const got = jit(prog)(...mine);
        expectMatches(got, want, 'value', 1e-9);
        const loss = (...xs: Tensor[]) => sum(prog(...xs));
        const argnums = inputs.map((_, i) => i);
        const gWant = grad(loss, { argnums }) as unknown as (...a: Tensor[]) => Tensor[];
        const gw = gWant(...ref);
        const gg = jit(gWant)(...mine);
        gw.forEach((w, i) => expectMatches(gg[i]!, w, `grad ${i}`, 1e-8));
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Random op programs: a chain of elementwise, reduction and movement steps over float64 inputs.

const P_UNARY: Op[] = [
  (x) => exp(tanh(x)), tanh, sin, cos, (x) => log(add(mul(x, x), 0.5)), (x) => sqrt(add(square(x), 1)), (x) => rsqrt(add(square(x), 1)),
  neg, (x) => sub(mul(x, 1.5), 0.25), relu, abs,
];
const P_BINARY: Op[] = [add, sub, mul, (a, b) => div(a, add(square(b), 1)), maximum, minimum, (a, b) => where(greater(a, b), a, mul(b, 2))];

interface Gen {
  prog: (...xs: Tensor[]) => Tensor;
  inputs: { data: Float64Array; shape: number[] }[];
}

const programArb: fc.Arbitrary<Gen> = fc
  .record({
    rows: fc.integer({ min: 1, max: 5 }),
    cols: fc.integer({ min: 1, max: 7 }),
    seed: fc.integer({ min: 0, max: 1e9 }),
    steps: fc.array(fc.record({ kind: fc.integer({ min: 0, max: 5 }), which: fc.nat(), arg: fc.nat() }), { minLength: 1, maxLength: 8 }),
  })
  .map(({ rows, cols, seed, steps }) => {
    const shape = [rows, cols];
    const rng = mulberry32(seed);
    const inputs = [0, 1].map(() => ({ data: Float64Array.from({ length: rows * cols }, () => rng() * 4 - 2), shape }));
    const prog = (a: Tensor, b: Tensor): Tensor => {
      const vals = [a, b];
      for (const s of steps) {
        const x = vals[s.arg % vals.length]!;
        const y = vals[(s.arg >> 1) % vals.length]!;
        switch (s.kind) {
          case 0:
          case 1:
            vals.push(P_UNARY[s.which % P_UNARY.length]!(x));
            break;
          case 2:
          case 3:
            vals.push(P_BINARY[s.which % P_BINARY.length]!(x, y));
            break;
          case 4: // a reduction broadcast back (softmax-like normalisation)
            vals.push(sub(x, broadcastTo(s.which % 2 ? max(x, [1], { keepDims: true }) : mean(x, [1], { keepDims: true }), shape)));
            break;
          case 5: // movement: a transpose round trip through a reshape, and a shifted copy
            vals.push(add(transpose(transpose(x)), concat([slice(y, [0, 0], [rows, cols - 1]), slice(y, [0, cols - 1], [rows, cols])], 1)));
            break;
        }
      }
      return vals[vals.length - 1]!;
    };
    return { prog: prog as (...xs: Tensor[]) => Tensor, inputs };
  });

export { toBackend };
