// The backend conformance suite: every backend runs it (`describeConformance(name, profile)`)
// and must agree with the reference backend — exactly for int32/bool results, to a small
// relative tolerance for floats (float32 transcendentals may differ by an ulp of a libm; float64
// reductions may be summed in another order). Results are read with `await t.dataAsync()`, which
// every backend supports. A backend's profile says what it computes (without float64, as WGSL,
// the float64 checks are left out and float64 must be rejected with a clear error) and where its
// arithmetic is documented to be looser than the defaults (see `Tolerances`).
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  abs, add, cast, concat, conv2d, cos, div, equal, exp, getBackend, grad, greater, greaterEqual, jit, less, lessEqual, log,
  matmul, max, maximum, mean, minimum, mul, neg, notEqual, pad, pow, random, reciprocal, relu, reshape, rsqrt, sign, sin,
  slice, sqrt, sub, sum, tanh, tensor, transpose, valueAndGrad, variance, where, broadcastTo, square, arange,
  type DType, type Tensor, type TypedArray,
} from '@resgrad/core';
import { rng } from '../gradcheck.js';
import { expectMatches, type Tol } from './compare.js';
import { randomData } from './data.js';

const REF = 'reference';
type Op = (...xs: Tensor[]) => Tensor;
type FloatDType = 'float32' | 'float64';
interface In {
  data: TypedArray;
  shape: number[];
  dtype: DType;
}

/** Float tolerances a backend may loosen; each applies to every float dtype it computes. */
export interface Tolerances {
  /**
   * exp, log, sqrt, rsqrt, reciprocal, sin, cos, tanh, and div and pow: where a backend's
   * language bounds the error in ULPs or absolutely rather than rounding correctly (WGSL).
   * Default: the elementwise tolerance (`defaultRtol`).
   */
  transcendental?: Tol;
  /** Reductions, mean/variance, matmul, conv and its gradients. Default: `SUMS`. */
  sums?: Tol;
  /** float32 random.normal (log/sqrt/cos of the bits). Default: bit-identical. */
  normal?: Tol;
  /** Random programs (jitted vs eager) and their gradients. Default: `PROGRAMS`. */
  programs?: { value: Tol; grad: Tol };
}

/** What a backend computes, how closely, and how its checks are observed. */
export type ConformanceProfile = (
  | { /** The backend computes in float64 (the default). */ float64?: true }
  | { /** The backend has no float64: its checks are left out... */ float64: false; /** ...and creating a float64 tensor throws this. */ float64Error: RegExp }
) & {
  tolerances?: Tolerances;
  /** sin/cos inputs: finite values beyond maxAbs are replaced (where range reduction holds only that far). */
  sinDomain?: { maxAbs: number };
  /** Called after each check of a result the backend computed (device tests count them). */
  onChecked?: () => void;
  /** Why the suite is skipped here (shown in its title), or null/undefined to run it. */
  skip?: string | null;
};

/** Long sums are reassociated (workgroup trees, tiles, SIMD lanes): relative to mean |want|. */
export const SUMS: Record<FloatDType, Tol> = { float32: { rtol: 2e-4, sums: true }, float64: { rtol: 1e-9, sums: true } };
/** Random programs chain transcendentals, reductions and their gradients. */
export const PROGRAMS: Record<FloatDType, { value: Tol; grad: Tol }> = {
  float32: { value: { rtol: 1e-4, atol: 1e-5, sums: true }, grad: { rtol: 1e-3, atol: 1e-4, sums: true } },
  float64: { value: { rtol: 1e-9, sums: true }, grad: { rtol: 1e-8, sums: true } },
};

const on = (backend: string, x: In) => tensor(x.data, { shape: x.shape, dtype: x.dtype, backend });
const input = (dtype: DType, n: number, seed: number, shape: number[], opts?: { special?: boolean; positive?: boolean }): In => ({
  data: randomData(dtype, n, seed, opts),
  shape,
  dtype,
});

const UNARY_F: [string, Op, { positive?: boolean; transcendental?: boolean; periodic?: boolean }?][] = [
  ['neg', neg], ['exp', exp, { transcendental: true }], ['log', log, { positive: true, transcendental: true }],
  ['sqrt', sqrt, { positive: true, transcendental: true }], ['rsqrt', rsqrt, { positive: true, transcendental: true }],
  ['reciprocal', reciprocal, { transcendental: true }], ['sin', sin, { transcendental: true, periodic: true }],
  ['cos', cos, { transcendental: true, periodic: true }], ['tanh', tanh, { transcendental: true }], ['abs', abs], ['sign', sign], ['square', square],
];
const F_I: DType[] = ['float32', 'float64', 'int32'];
const ALL: DType[] = ['float32', 'float64', 'int32', 'bool'];
const BINARY: [string, Op, DType[], { transcendental?: boolean }?][] = [
  ['add', add, F_I], ['sub', sub, F_I], ['mul', mul, F_I], ['div', div, F_I, { transcendental: true }],
  ['maximum', maximum, ALL], ['minimum', minimum, ALL], ['pow', pow, F_I, { transcendental: true }],
  ['equal', equal, ['float32', 'int32', 'bool']], ['notEqual', notEqual, ALL], ['less', less, ['float32', 'int32']],
  ['lessEqual', lessEqual, F_I], ['greater', greater, ['float32', 'int32']], ['greaterEqual', greaterEqual, F_I],
];

/**
 * Registers the conformance tests of backend `backendName` (which must be registered and
 * available when they run), comparing it with the reference backend.
 */
export function describeConformance(backendName: string, profile: ConformanceProfile = {}): void {
  const float64 = profile.float64 !== false;
  /** The dtypes of `dtypes` the backend computes; seeds index this list, as each backend's copy did. */
  const only = <D extends DType>(dtypes: readonly D[]): D[] => dtypes.filter((d) => float64 || d !== 'float64');
  const floats = only<FloatDType>(['float32', 'float64']);
  const tols = profile.tolerances ?? {};
  const transcendental = (yes?: boolean) => (yes ? tols.transcendental : undefined);
  const sums = (dtype: DType) => tols.sums ?? (dtype === 'float64' ? SUMS.float64 : SUMS.float32);
  const checked = profile.onChecked ?? (() => {});

  /** One comparison of a result the backend computed, counted. */
  async function compare(got: Tensor, want: Tensor, label: string, tol?: Tol): Promise<void> {
    await expectMatches(got, want, label, tol);
    checked();
  }

  /** Op on the backend, eager and jitted with a movement prologue that fuses, vs eager reference. */
  async function checkOp(label: string, op: Op, inputs: In[], tol?: Tol): Promise<void> {
    const want = op(...inputs.map((x) => on(REF, x)));
    const mine = inputs.map((x) => on(backendName, x));
    await expectMatches(op(...mine), want, `${label} eager`, tol);
    // Jitted: pad-then-slice makes every load an index expression with a validity condition.
    const viaPad = (x: Tensor) => slice(pad(x, x.shape.map(() => [1, 1] as const)), x.shape.map(() => 1), x.shape.map((d) => d + 1));
    await expectMatches(jit((...xs: Tensor[]) => op(...xs.map(viaPad)))(...mine), want, `${label} jit`, tol);
    checked();
  }

  const skip = profile.skip ?? null;
  describe.skipIf(skip !== null)(`conformance: ${backendName}${skip !== null ? ` (skipped: ${skip})` : ''}`, () => {
    it('is available', () => {
      expect(getBackend(backendName).name).toBe(backendName);
    });

    if (profile.float64 === false) {
      const error = profile.float64Error;
      it('float64 is rejected with a clear error', () => {
        expect(() => tensor([1, 2], { dtype: 'float64', backend: backendName })).toThrow(error);
        checked();
      });
    }

    describe(`unary primitives (${floats.join(', ')}, with special values)`, () => {
      for (const [name, op, o] of UNARY_F)
        it(name, async () => {
          for (const [j, dtype] of floats.entries()) {
            const tol = transcendental(o?.transcendental);
            const data = randomData(dtype, 24, 11 + j, { special: true, positive: o?.positive });
            const maxAbs = o?.periodic ? profile.sinDomain?.maxAbs : undefined;
            if (maxAbs !== undefined) data.forEach((v, i) => Number.isFinite(v) && Math.abs(v) > maxAbs && (data[i] = Math.sign(v) * 12345.678));
            await checkOp(`${name} ${dtype}`, op, [{ data, shape: [4, 6], dtype }], tol);
            // and a bulk of ordinary values
            await checkOp(`${name} ${dtype} bulk`, op, [input(dtype, 300, 12 + 2 * j, [300], { positive: o?.positive })], tol);
          }
        });
      it('neg, abs, sign on int32 (wrapping at INT_MIN)', async () => {
        for (const op of [neg, abs, sign]) await checkOp(`int32 ${op.name}`, op, [input('int32', 22, 5, [2, 11], { special: true })]);
      });
    });

    describe('binary primitives', () => {
      for (const [name, op, dtypes, o] of BINARY)
        it(name, async () => {
          for (const [j, dtype] of only(dtypes).entries()) {
            // int32 pow is the truncated double power: beyond 2^53 its low bits depend on the
            // last ulp of a libm's pow, so integer powers are tested where they are exact.
            const intPow = name === 'pow' && dtype === 'int32';
            const a = input(dtype, 30, 100 + j, [5, 6], { special: !intPow });
            const b = input(dtype, 30, 200 + j, [5, 6], { special: !intPow });
            if (intPow) b.data.forEach((v, i) => (b.data[i] = Math.abs(v) % 6));
            await checkOp(`${name} ${dtype}`, op, [a, b], transcendental(o?.transcendental));
          }
        });
      it('int32 division by zero gives 0, INT_MIN / -1 wraps', async () => {
        const a = { data: Int32Array.from([7, -7, 0, -2147483648, -2147483648, 9]), shape: [6], dtype: 'int32' as DType };
        const b = { data: Int32Array.from([0, 0, 0, -1, 0, -2]), shape: [6], dtype: 'int32' as DType };
        await checkOp('int div', div, [a, b]);
      });
      it('broadcasting operands', async () => {
        const a = input('float32', 12, 7, [3, 4]);
        const b = input('float32', 4, 8, [1, 4]);
        await checkOp('add broadcast', (x, y) => add(x, broadcastTo(y, [3, 4])), [a, b]);
      });
    });

    it('where and cast between every pair of dtypes', async () => {
      const dtypes = only(ALL);
      for (const [i, from] of dtypes.entries())
        for (const to of dtypes) await checkOp(`cast ${from}->${to}`, (x) => cast(x, to), [input(from, 26, 300 + i, [2, 13], { special: true })]);
      // float -> int32 beyond 2^31 wraps modulo 2^32 as JS `| 0` does
      const large = Float32Array.from([2147483648, -2147483904, 3e9, -5e9, 1e20, 4294967296 + 512]);
      await checkOp('cast large float32->int32', (x) => cast(x, 'int32'), [{ data: large, shape: [6], dtype: 'float32' }]);
      for (const dtype of dtypes)
        await checkOp(`where ${dtype}`, where as Op, [input('bool', 12, 1, [3, 4]), input(dtype, 12, 2, [3, 4], { special: true }), input(dtype, 12, 3, [3, 4])]);
    });

    it('reductions: sum, max, mean, variance over axes (short and long)', async () => {
      for (const dtype of only(F_I)) {
        const x = input(dtype, 2 * 3 * 5 * 7, 9, [2, 3, 5, 7]);
        for (const axes of [[0], [1], [3], [0, 2, 3], [0, 1, 2, 3]]) {
          await checkOp(`sum ${dtype} ${axes}`, (t) => sum(t, axes), [x], sums(dtype));
          await checkOp(`max ${dtype} ${axes}`, (t) => max(t, axes), [x]);
        }
        if (dtype !== 'int32') await checkOp(`mean/variance ${dtype}`, (t) => add(mean(t, [0, 2, 3]), variance(t, [0, 2, 3])), [x], sums(dtype));
        // a long reduction into few outputs (WebGPU: the workgroup-per-output form)
        const long = input(dtype, 3 * 1000, 10, [3, 1000]);
        await checkOp(`sum ${dtype} long`, (t) => sum(t, [1]), [long], sums(dtype));
        await checkOp(`max ${dtype} long`, (t) => max(t, [1]), [long]);
      }
      await checkOp('max with NaN and infinities', (t) => max(t, [1]), [input('float32', 40, 4, [5, 8], { special: true })]);
      await checkOp('long max with NaN and infinities', (t) => max(t, [1]), [input('float32', 2 * 600, 5, [2, 600], { special: true })]);
    });

    it('movement: reshape, transpose, broadcast, slice with steps, pad, concat', async () => {
      for (const dtype of only(ALL))
        await checkOp(`movement ${dtype}`, (t) =>
          concat([reshape(transpose(t, [2, 0, 1]), [4, 6]), slice(pad(reshape(t, [4, 6]), [[1, 2], [0, 0]]), [0, 0], [7, 6], [2, 1])], 0), [input(dtype, 24, 21, [2, 3, 4])]);
    });

    it(`matmul (${only(F_I).join(', ')}, batched, tile edges) and iota`, async () => {
      for (const dtype of only(F_I))
        await checkOp(`matmul ${dtype}`, matmul as Op, [input(dtype, 2 * 5 * 7, 31, [2, 5, 7]), input(dtype, 2 * 7 * 3, 32, [2, 7, 3])], sums(dtype));
      // sizes that straddle tiles (WebGPU: 64 x 64 tiles, 16-deep K steps)
      await checkOp('matmul 70x33x129', matmul as Op, [input('float32', 70 * 33, 33, [70, 33]), input('float32', 33 * 129, 34, [33, 129])], sums('float32'));
      await compare(arange(0, 17, 1, { backend: backendName, dtype: 'float32' }), arange(0, 17, 1, { backend: REF, dtype: 'float32' }), 'arange');
    });

    it('conv2d and its gradients (stride, padding, groups)', async () => {
      for (const dtype of floats) {
        for (const [stride, padding, groups] of [[1, 1, 1], [2, 1, 1], [1, 0, 2]] as const) {
          const x = input(dtype, 2 * 4 * 6 * 6, 41, [2, 4, 6, 6]);
          const w = input(dtype, 6 * (4 / groups) * 9, 42, [6, 4 / groups, 3, 3]);
          const f = (a: Tensor, b: Tensor) => sum(mul(conv2d(a, b, { stride, padding, groups }), conv2d(a, b, { stride, padding, groups })));
          await checkOp(`conv2d ${dtype} s${stride} p${padding} g${groups}`, (a, b) => conv2d(a, b, { stride, padding, groups }), [x, w], sums(dtype));
          const g = grad(f, { argnums: [0, 1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[];
          const ref = g(on(REF, x), on(REF, w));
          const mine = jit(g)(on(backendName, x), on(backendName, w));
          for (const [i, r] of ref.entries()) await compare(mine[i]!, r, `conv grad ${i} ${dtype}`, sums(dtype));
        }
      }
      // a weight gradient over more than 4096 terms per element (WebGPU: the workgroup-tree form)
      const x = input('float32', 2 * 2 * 48 * 48, 43, [2, 2, 48, 48]);
      const w = input('float32', 2 * 2 * 9, 44, [2, 2, 3, 3]);
      const gw = grad((a: Tensor, b: Tensor) => sum(square(conv2d(a, b, { padding: 1 }))), { argnums: [1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[];
      await compare(jit(gw)(on(backendName, x), on(backendName, w))[0]!, gw(on(REF, x), on(REF, w))[0]!, 'conv weight grad, 4608 terms', sums('float32'));
    });

    it('a conv/BN/ReLU/residual block: forward and backward under jit', async () => {
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
      const args = (b: string) =>
        [on(b, { data: x, shape: [4, 8, 8, 8], dtype }), on(b, { data: w1, shape: [8, 8, 3, 3], dtype }), on(b, { data: w2, shape: [8, 8, 3, 3], dtype }), on(b, { data: gamma, shape: [8], dtype })];
      const [v0, g0] = vg(...args(REF));
      const [v1, g1] = jit(vg)(...args(backendName));
      await compare(v1, v0, 'block value', { rtol: 1e-4, sums: true });
      for (const [i, r] of g0.entries()) await compare(g1[i]!, r, `block grad ${i}`, { rtol: 2e-3, sums: true });
    });

    it('epilogue chains after library ops (inference conv/BN/add/ReLU, matmul + bias + tanh, an SGD step)', async () => {
      // Backends that fold elementwise chains into their library kernels run them there;
      // the others run them as fused kernels. Either way the values are the reference's.
      const dtype = 'float32';
      const t = (b: string, data: TypedArray, shape: number[]) => on(b, { data, shape, dtype });
      const x = randomData(dtype, 4 * 8 * 8 * 8, 61);
      const w = randomData(dtype, 8 * 8 * 9, 62);
      const scale = randomData(dtype, 8, 63);
      const shift = randomData(dtype, 8, 64);
      const col = (v: Tensor) => reshape(v, [1, 8, 1, 1]);
      const infer = (xx: Tensor, ww: Tensor, s: Tensor, b: Tensor) => relu(add(add(mul(conv2d(xx, ww, { padding: 1 }), col(s)), col(b)), xx));
      const args = (b: string) => [t(b, x, [4, 8, 8, 8]), t(b, w, [8, 8, 3, 3]), t(b, scale, [8]), t(b, shift, [8])] as const;
      await compare(jit(infer)(...args(backendName)), infer(...args(REF)), 'conv + BN + add + ReLU', { rtol: 1e-4, sums: true });
      const a = randomData(dtype, 2 * 5 * 7, 65);
      const m = randomData(dtype, 2 * 7 * 9, 66);
      const bias = randomData(dtype, 9, 67);
      const mm = (p: Tensor, q: Tensor, c: Tensor) => tanh(add(matmul(p, q), c));
      const margs = (b: string) => [t(b, a, [2, 5, 7]), t(b, m, [2, 7, 9]), t(b, bias, [9])] as const;
      await compare(jit(mm)(...margs(backendName)), mm(...margs(REF)), 'matmul + bias + tanh', { rtol: 1e-4, sums: true });
      const step = (ww: Tensor, xx: Tensor) => sub(ww, mul(grad((v: Tensor) => sum(square(conv2d(xx, v, { padding: 1 }))))(ww), 1e-3));
      await compare(jit(step)(t(backendName, w, [8, 8, 3, 3]), t(backendName, x, [4, 8, 8, 8])), step(t(REF, w, [8, 8, 3, 3]), t(REF, x, [4, 8, 8, 8])), 'SGD step on a conv weight', { rtol: 1e-4, sums: true });
    });

    it('random bits, uniform and normal are bit-identical to the reference', async () => {
      for (const seed of [0, 42, 2 ** 40 + 3]) {
        const draw = (b: string) => {
          const [k1, k2, k3] = random.split(random.key(seed, { backend: b }), 3);
          return [random.uniform(k1!, [3, 17]), random.randint(k3!, [20], -5, 9), ...(float64 ? [random.normal(k2!, [50], { dtype: 'float64' })] : [])];
        };
        const want = draw(REF);
        // Bits, uniform and float32 normal are bit-identical (unless the backend's transcendentals
        // are looser: `normal`); float64 normal goes through log/sqrt/cos in double, where two
        // libms may differ in the last ulp.
        for (const [i, t] of draw(backendName).entries()) await compare(t, want[i]!, `random ${seed} ${i}`, { rtol: i === 2 ? 1e-15 : 0, sums: true });
        const n32 = (b: string) => random.normal(random.key(seed + 1, { backend: b }), [64]);
        await compare(n32(backendName), n32(REF), `float32 normal ${seed}`, tols.normal ?? { rtol: 0 });
        const jitted = jit((k: Tensor) => random.uniform(k, [1000]))(random.key(seed, { backend: backendName }));
        await compare(jitted, random.uniform(random.key(seed, { backend: REF }), [1000]), `jitted uniform ${seed}`, { rtol: 0 });
      }
    });

    const dtype: FloatDType = float64 ? 'float64' : 'float32';
    const ptol = tols.programs ?? PROGRAMS[dtype];
    describe(`random programs (jitted on the backend vs eager reference, ${dtype}), with gradients`, () => {
      test.prop([programArb(dtype)], { numRuns: Number(process.env.FC_CONFORMANCE_RUNS ?? 12) })('agree', async ({ prog, inputs }) => {
        const ref = inputs.map((d) => on(REF, d));
        const mine = inputs.map((d) => on(backendName, d));
        await compare(jit(prog)(...mine), prog(...ref), 'value', ptol.value);
        const loss = (...xs: Tensor[]) => sum(prog(...xs));
        const argnums = inputs.map((_, i) => i);
        const g = grad(loss, { argnums }) as unknown as (...a: Tensor[]) => Tensor[];
        const gw = g(...ref);
        const gg = jit(g)(...mine);
        for (const [i, w] of gw.entries()) await compare(gg[i]!, w, `grad ${i}`, ptol.grad);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Random op programs: a chain of elementwise, reduction and movement steps over float inputs.

const P_UNARY: Op[] = [
  (x) => exp(tanh(x)), tanh, sin, cos, (x) => log(add(mul(x, x), 0.5)), (x) => sqrt(add(square(x), 1)), (x) => rsqrt(add(square(x), 1)),
  neg, (x) => sub(mul(x, 1.5), 0.25), relu, abs,
];
const P_BINARY: Op[] = [add, sub, mul, (a, b) => div(a, add(square(b), 1)), maximum, minimum, (a, b) => where(greater(a, b), a, mul(b, 2))];

interface Gen {
  prog: (...xs: Tensor[]) => Tensor;
  inputs: In[];
}

const programArb = (dtype: FloatDType): fc.Arbitrary<Gen> =>
  fc
    .record({
      rows: fc.integer({ min: 1, max: 5 }),
      cols: fc.integer({ min: 1, max: 7 }),
      seed: fc.integer({ min: 0, max: 1e9 }),
      steps: fc.array(fc.record({ kind: fc.integer({ min: 0, max: 5 }), which: fc.nat(), arg: fc.nat() }), { minLength: 1, maxLength: 8 }),
    })
    .map(({ rows, cols, seed, steps }) => {
      const shape = [rows, cols];
      const r = rng(seed);
      const inputs = [0, 1].map((): In => {
        const values = Array.from({ length: rows * cols }, () => r() * 4 - 2);
        return { data: dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), shape, dtype };
      });
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
