// The conformance checks of packages/core/test/conformance/suite.ts, on the WebGPU backend:
// the same ops, data and comparisons against the reference backend, with asynchronous reads
// (WebGPU has no synchronous readback) and without float64 (WGSL has no f64; float64 is
// checked to fail with a clear error instead). Float32 tolerances: add/sub/mul are correctly
// rounded in WGSL, other ops are within WGSL's documented ULP bounds (transcendentals get
// TRANSCENDENTAL below), and sums are reassociated (workgroup trees, tiles).
import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import {
  abs, add, arange, broadcastTo, cast, concat, conv2d, cos, div, equal, exp, grad, greater, greaterEqual, jit, less, lessEqual, log,
  matmul, max, maximum, mean, minimum, mul, neg, notEqual, pad, pow, random, reciprocal, relu, reshape, rsqrt, sign, sin, slice,
  setDefaultBackend, sqrt, square, sub, sum, tanh, tensor, transpose, valueAndGrad, variance, where,
  type DType, type Tensor, type TypedArray,
} from '@resgrad/core';
import { compilationMessages } from '@resgrad/backend-webgpu';
import { expectMatches, type Tol } from './helpers/compare.js';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';
import { mulberry32, randomData } from './helpers/data.js';

const gpu = await deviceForTests();
const B = 'webgpu';
const REF = 'reference';
// Constants captured while tracing live on the default backend, and core moves them to the
// inputs' backend with a synchronous read: they must not live on WebGPU when a traced graph is
// evaluated eagerly on reference tensors (with webgpu registered and no cpu, webgpu would be
// the default).
if (!gpu.skip) setDefaultBackend(REF);
type Op = (...xs: Tensor[]) => Tensor;
type In = { data: TypedArray; shape: number[]; dtype: DType };

/** sin/cos/exp/log/tanh/pow: WGSL bounds their error in ULPs or absolutely, not to correct rounding. */
const TRANSCENDENTAL: Tol = { rtol: 2e-5, atol: 2e-6 };
const SUMS: Tol = { rtol: 2e-4, sums: true };

const on = (backend: string, x: In) => tensor(x.data, { shape: x.shape, dtype: x.dtype, backend });

/** Op on WebGPU, eager and jitted with a pad/slice prologue (loads with validity), vs eager reference. */
async function checkOp(label: string, op: Op, inputs: In[], tol?: Tol): Promise<void> {
  const want = op(...inputs.map((x) => on(REF, x)));
  const mine = inputs.map((x) => on(B, x));
  await expectMatches(op(...mine), want, `${label} eager`, tol);
  const viaPad = (x: Tensor) => slice(pad(x, x.shape.map(() => [1, 1] as const)), x.shape.map(() => 1), x.shape.map((d) => d + 1));
  await expectMatches(jit((...xs: Tensor[]) => op(...xs.map(viaPad)))(...mine), want, `${label} jit`, tol);
  ranOnDevice();
}

/** sin and cos are accurate for |x| <= 1e5 (see the prelude); larger finite inputs are replaced. */
const SIN_DOMAIN = { maxAbs: 1e5 };

const UNARY_F: [string, Op, { positive?: boolean; tol?: Tol; maxAbs?: number }?][] = [
  ['neg', neg], ['exp', exp, { tol: TRANSCENDENTAL }], ['log', log, { positive: true, tol: TRANSCENDENTAL }],
  ['sqrt', sqrt, { positive: true, tol: TRANSCENDENTAL }], ['rsqrt', rsqrt, { positive: true, tol: TRANSCENDENTAL }],
  ['reciprocal', reciprocal, { tol: TRANSCENDENTAL }], ['sin', sin, { tol: TRANSCENDENTAL, ...SIN_DOMAIN }], ['cos', cos, { tol: TRANSCENDENTAL, ...SIN_DOMAIN }],
  ['tanh', tanh, { tol: TRANSCENDENTAL }], ['abs', abs], ['sign', sign], ['square', square],
];
const BINARY: [string, Op, DType[], Tol?][] = [
  ['add', add, ['float32', 'int32']], ['sub', sub, ['float32', 'int32']], ['mul', mul, ['float32', 'int32']],
  ['div', div, ['float32', 'int32'], TRANSCENDENTAL], ['maximum', maximum, ['float32', 'int32', 'bool']],
  ['minimum', minimum, ['float32', 'int32', 'bool']], ['pow', pow, ['float32', 'int32'], TRANSCENDENTAL],
  ['equal', equal, ['float32', 'int32', 'bool']], ['notEqual', notEqual, ['float32', 'int32', 'bool']], ['less', less, ['float32', 'int32']],
  ['lessEqual', lessEqual, ['float32', 'int32']], ['greater', greater, ['float32', 'int32']], ['greaterEqual', greaterEqual, ['float32', 'int32']],
];
const DTYPES: DType[] = ['float32', 'int32', 'bool'];

describe.skipIf(gpu.skip !== null)(`conformance: webgpu${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  reportDeviceTests('conformance', gpu.backend);

  describe('unary primitives (float32, with special values)', () => {
    for (const [name, op, o] of UNARY_F)
      it(name, async () => {
        const data = randomData('float32', 24, 11, { special: true, positive: o?.positive });
        if (o?.maxAbs) data.forEach((v, i) => Number.isFinite(v) && Math.abs(v) > o.maxAbs! && (data[i] = Math.sign(v) * 12345.678));
        await checkOp(`${name} float32`, op, [{ data, shape: [4, 6], dtype: 'float32' }], o?.tol);
        // and a bulk of ordinary values
        await checkOp(`${name} float32 bulk`, op, [{ data: randomData('float32', 300, 12, { positive: o?.positive }), shape: [300], dtype: 'float32' }], o?.tol);
      });
    it('neg, abs, sign on int32 (wrapping at INT_MIN)', async () => {
      for (const op of [neg, abs, sign]) await checkOp(`int32 ${op.name}`, op, [{ data: randomData('int32', 22, 5, { special: true }), shape: [2, 11], dtype: 'int32' }]);
    });
  });

  describe('binary primitives', () => {
    for (const [name, op, dtypes, tol] of BINARY)
      it(name, async () => {
        for (const [j, dtype] of dtypes.entries()) {
          const intPow = name === 'pow' && dtype === 'int32';
          const a = { data: randomData(dtype, 30, 100 + j, { special: !intPow }), shape: [5, 6], dtype };
          const b = { data: randomData(dtype, 30, 200 + j, { special: !intPow }), shape: [5, 6], dtype };
          if (intPow) b.data.forEach((v, i) => (b.data[i] = Math.abs(v) % 6));
          await checkOp(`${name} ${dtype}`, op, [a, b], tol);
        }
      });
    it('int32 division by zero gives 0, INT_MIN / -1 wraps', async () => {
      const a = { data: Int32Array.from([7, -7, 0, -2147483648, -2147483648, 9]), shape: [6], dtype: 'int32' as DType };
      const b = { data: Int32Array.from([0, 0, 0, -1, 0, -2]), shape: [6], dtype: 'int32' as DType };
      await checkOp('int div', div, [a, b]);
    });
    it('broadcasting operands', async () => {
      const a = { data: randomData('float32', 12, 7), shape: [3, 4], dtype: 'float32' as DType };
      const b = { data: randomData('float32', 4, 8), shape: [1, 4], dtype: 'float32' as DType };
      await checkOp('add broadcast', (x, y) => add(x, broadcastTo(y, [3, 4])), [a, b]);
    });
  });

  it('where and cast between every pair of dtypes', async () => {
    for (const [i, from] of DTYPES.entries())
      for (const to of DTYPES)
        await checkOp(`cast ${from}->${to}`, (x) => cast(x, to), [{ data: randomData(from, 26, 300 + i, { special: true }), shape: [2, 13], dtype: from }]);
    // float -> int32 beyond 2^31 wraps modulo 2^32 as JS `| 0` does
    await checkOp('cast large float32->int32', (x) => cast(x, 'int32'), [{ data: Float32Array.from([2147483648, -2147483904, 3e9, -5e9, 1e20, 4294967296 + 512]), shape: [6], dtype: 'float32' }]);
    for (const dtype of DTYPES) {
      const c = { data: randomData('bool', 12, 1), shape: [3, 4], dtype: 'bool' as DType };
      await checkOp(`where ${dtype}`, where as Op, [c, { data: randomData(dtype, 12, 2, { special: true }), shape: [3, 4], dtype }, { data: randomData(dtype, 12, 3), shape: [3, 4], dtype }]);
    }
  });

  it('reductions: sum, max, mean, variance over axes (loop and workgroup forms)', async () => {
    for (const dtype of ['float32', 'int32'] as DType[]) {
      const x = { data: randomData(dtype, 2 * 3 * 5 * 7, 9), shape: [2, 3, 5, 7], dtype };
      for (const axes of [[0], [1], [3], [0, 2, 3], [0, 1, 2, 3]]) {
        await checkOp(`sum ${dtype} ${axes}`, (t) => sum(t, axes), [x], SUMS);
        await checkOp(`max ${dtype} ${axes}`, (t) => max(t, axes), [x]);
      }
      if (dtype !== 'int32') await checkOp(`mean/variance ${dtype}`, (t) => add(mean(t, [0, 2, 3]), variance(t, [0, 2, 3])), [x], SUMS);
      // a long reduction into few outputs takes the workgroup-per-output form
      const long = { data: randomData(dtype, 3 * 1000, 10), shape: [3, 1000], dtype };
      await checkOp(`sum ${dtype} long`, (t) => sum(t, [1]), [long], SUMS);
      await checkOp(`max ${dtype} long`, (t) => max(t, [1]), [long]);
    }
    const nan = { data: randomData('float32', 40, 4, { special: true }), shape: [5, 8], dtype: 'float32' as DType };
    await checkOp('max with NaN and infinities', (t) => max(t, [1]), [nan]);
    const nanLong = { data: randomData('float32', 2 * 600, 5, { special: true }), shape: [2, 600], dtype: 'float32' as DType };
    await checkOp('long max with NaN and infinities', (t) => max(t, [1]), [nanLong]);
  });

  it('movement: reshape, transpose, broadcast, slice with steps, pad, concat', async () => {
    for (const dtype of DTYPES) {
      const x = { data: randomData(dtype, 24, 21), shape: [2, 3, 4], dtype };
      await checkOp(`movement ${dtype}`, (t) =>
        concat([reshape(transpose(t, [2, 0, 1]), [4, 6]), slice(pad(reshape(t, [4, 6]), [[1, 2], [0, 0]]), [0, 0], [7, 6], [2, 1])], 0), [x]);
    }
  });

  it('matmul (float32, int32, batched, tile edges) and iota', async () => {
    for (const dtype of ['float32', 'int32'] as DType[]) {
      const a = { data: randomData(dtype, 2 * 5 * 7, 31), shape: [2, 5, 7], dtype };
      const b = { data: randomData(dtype, 2 * 7 * 3, 32), shape: [2, 7, 3], dtype };
      await checkOp(`matmul ${dtype}`, matmul as Op, [a, b], SUMS);
    }
    // sizes that straddle the 64 x 64 tiles and the 16-deep K steps
    const a = { data: randomData('float32', 70 * 33, 33), shape: [70, 33], dtype: 'float32' as DType };
    const b = { data: randomData('float32', 33 * 129, 34), shape: [33, 129], dtype: 'float32' as DType };
    await checkOp('matmul 70x33x129', matmul as Op, [a, b], SUMS);
    await expectMatches(arange(0, 17, 1, { backend: B, dtype: 'float32' }), arange(0, 17, 1, { backend: REF, dtype: 'float32' }), 'arange');
  });

  it('conv2d and its gradients (stride, padding, groups)', async () => {
    const dtype = 'float32';
    for (const [stride, padding, groups] of [[1, 1, 1], [2, 1, 1], [1, 0, 2]] as const) {
      const x = { data: randomData(dtype, 2 * 4 * 6 * 6, 41), shape: [2, 4, 6, 6], dtype } as In;
      const w = { data: randomData(dtype, 6 * (4 / groups) * 9, 42), shape: [6, 4 / groups, 3, 3], dtype } as In;
      const f = (a: Tensor, b: Tensor) => sum(mul(conv2d(a, b, { stride, padding, groups }), conv2d(a, b, { stride, padding, groups })));
      await checkOp(`conv2d s${stride} p${padding} g${groups}`, (a, b) => conv2d(a, b, { stride, padding, groups }), [x, w], SUMS);
      const g = grad(f, { argnums: [0, 1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[];
      const ref = g(on(REF, x), on(REF, w));
      const mine = jit(g)(on(B, x), on(B, w));
      for (const [i, r] of ref.entries()) await expectMatches(mine[i]!, r, `conv grad ${i}`, SUMS);
    }
    // a weight gradient over more than 4096 terms per element takes the workgroup-tree form
    const x = { data: randomData(dtype, 2 * 2 * 48 * 48, 43), shape: [2, 2, 48, 48], dtype } as In;
    const w = { data: randomData(dtype, 2 * 2 * 9, 44), shape: [2, 2, 3, 3], dtype } as In;
    const gw = grad((a: Tensor, b: Tensor) => sum(square(conv2d(a, b, { padding: 1 }))), { argnums: [1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[];
    await expectMatches(jit(gw)(on(B, x), on(B, w))[0]!, gw(on(REF, x), on(REF, w))[0]!, 'conv weight grad, 4608 terms', SUMS);
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
    const [v1, g1] = jit(vg)(...args(B));
    await expectMatches(v1, v0, 'block value', { rtol: 1e-4 });
    for (const [i, r] of g0.entries()) await expectMatches(g1[i]!, r, `block grad ${i}`, { rtol: 2e-3, sums: true });
    ranOnDevice();
  });

  it('random bits, uniform and float32 normal are bit-identical to the reference', async () => {
    for (const seed of [0, 42, 2 ** 40 + 3]) {
      const draw = (b: string) => {
        const [k1, k3] = random.split(random.key(seed, { backend: b }), 2);
        return [random.uniform(k1!, [3, 17]), random.randint(k3!, [20], -5, 9)];
      };
      const want = draw(REF);
      const got = draw(B);
      for (const [i, t] of got.entries()) await expectMatches(t, want[i]!, `random ${seed} ${i}`, { rtol: 0 });
      const jitted = jit((k: Tensor) => random.uniform(k, [1000]))(random.key(seed, { backend: B }));
      await expectMatches(jitted, random.uniform(random.key(seed, { backend: REF }), [1000]), `jitted uniform ${seed}`, { rtol: 0 });
      // normal goes through log/sqrt/cos: within WGSL's transcendental bounds
      const n32 = (b: string) => random.normal(random.key(seed + 1, { backend: b }), [64]);
      await expectMatches(n32(B), n32(REF), `float32 normal ${seed}`, { rtol: 1e-4, atol: 1e-5 });
    }
    ranOnDevice();
  });

  it('float64 is rejected with a clear error', () => {
    expect(() => tensor([1, 2], { dtype: 'float64', backend: B })).toThrow(/float64 is not supported on WebGPU/);
    ranOnDevice();
  });

  it('every kernel generated above compiles without errors or warnings (getCompilationInfo)', async () => {
    const backend = gpu.backend!;
    let n = 0;
    for (const { code, what } of backend.pipelines.sources()) {
      const messages = await compilationMessages(backend.device, code);
      expect(messages.map((m) => `${what}: ${m.type} ${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
      n++;
    }
    expect(n).toBeGreaterThan(50);
    await backend.flush();
    ranOnDevice();
  });

  describe('random programs (jitted on webgpu vs eager reference, float32), with gradients', () => {
    test.prop([programArb], { numRuns: Number(process.env.FC_CONFORMANCE_RUNS ?? 12) })('agree', async ({ prog, inputs }) => {
      const ref = inputs.map((d) => on(REF, d));
      const mine = inputs.map((d) => on(B, d));
      await expectMatches(jit(prog)(...mine), prog(...ref), 'value', { rtol: 1e-4, atol: 1e-5, sums: true });
      const loss = (...xs: Tensor[]) => sum(prog(...xs));
      const argnums = inputs.map((_, i) => i);
      const g = grad(loss, { argnums }) as unknown as (...a: Tensor[]) => Tensor[];
      const gw = g(...ref);
      const gg = jit(g)(...mine);
      for (const [i, w] of gw.entries()) await expectMatches(gg[i]!, w, `grad ${i}`, { rtol: 1e-3, atol: 1e-4, sums: true });
      ranOnDevice();
    });
  });
});

// Random op programs: the suite's generator, over float32 inputs.
const P_UNARY: Op[] = [
  (x) => exp(tanh(x)), tanh, sin, cos, (x) => log(add(mul(x, x), 0.5)), (x) => sqrt(add(square(x), 1)), (x) => rsqrt(add(square(x), 1)),
  neg, (x) => sub(mul(x, 1.5), 0.25), relu, abs,
];
const P_BINARY: Op[] = [add, sub, mul, (a, b) => div(a, add(square(b), 1)), maximum, minimum, (a, b) => where(greater(a, b), a, mul(b, 2))];

const programArb = fc
  .record({
    rows: fc.integer({ min: 1, max: 5 }),
    cols: fc.integer({ min: 1, max: 7 }),
    seed: fc.integer({ min: 0, max: 1e9 }),
    steps: fc.array(fc.record({ kind: fc.integer({ min: 0, max: 5 }), which: fc.nat(), arg: fc.nat() }), { minLength: 1, maxLength: 8 }),
  })
  .map(({ rows, cols, seed, steps }) => {
    const shape = [rows, cols];
    const rng = mulberry32(seed);
    const inputs: In[] = [0, 1].map(() => ({ data: Float32Array.from({ length: rows * cols }, () => rng() * 4 - 2), shape, dtype: 'float32' }));
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
          case 4:
            vals.push(sub(x, broadcastTo(s.which % 2 ? max(x, [1], { keepDims: true }) : mean(x, [1], { keepDims: true }), shape)));
            break;
          case 5:
            vals.push(add(transpose(transpose(x)), concat([slice(y, [0, 0], [rows, cols - 1]), slice(y, [0, cols - 1], [rows, cols])], 1)));
            break;
        }
      }
      return vals[vals.length - 1]!;
    };
    return { prog: prog as (...xs: Tensor[]) => Tensor, inputs };
  });
