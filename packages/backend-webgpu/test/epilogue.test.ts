// Library epilogues on a real adapter (npm run test:webgpu): the elementwise chain after a
// matmul or convolution evaluated at the library kernel's stores (src/wgsl/epilogue.ts), on the
// tiled GEMM and on the direct convolutions (a backend whose invocation limit fits no GEMM
// tile), for the forward convolution (stride, padding, groups, an option-A shortcut read through
// guarded loads), the input gradient (the ReLU mask), the weight gradient (an SGD momentum
// update; the direct kernel's loop and workgroup forms) and the matmul (float32 and int32).
// Each result is compared with the reference backend (float32 sum tolerances) and with the same
// program scheduled without epilogues on the same kernels (a backend with libraryEpilogues
// false), which must agree bit for bit: the op's accumulation is untouched and the chain is the
// same WGSL. Then adapters with few storage bindings: the epilogue's extra buffers packed, or
// the epilogue run as an in-place pass of its own.
import { describe, expect, it } from 'vitest';
import {
  add, conv2d, grad, jit, matmul, mul, pad, type Program, registerBackend, relu, reshape, setDefaultBackend, slice, sub, sum, tanh,
  tensor, type DType, type LibraryOp, type Tensor, type TypedArray,
} from '@resgrad/core';
import { WebGPUBackend, type WebGPUBackendOptions, type WebGPUExecutable } from '@resgrad/backend-webgpu';
import { expectMatches, type Tol } from './helpers/compare.js';
import { randomData } from './helpers/data.js';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';

const gpu = await deviceForTests();
const REF = 'reference';
if (!gpu.skip) setDefaultBackend(REF);
const SUMS: Tol = { rtol: 2e-4, sums: true };

/** A WebGPU backend on the test device that records the programs it compiles. */
interface Recorded {
  readonly name: string;
  readonly backend: WebGPUBackend;
  readonly programs: Program[];
}

type Fn = (...xs: Tensor[]) => Tensor | Tensor[];
interface Input {
  readonly shape: number[];
  readonly dtype?: DType;
  readonly seed: number;
}

describe.skipIf(gpu.skip !== null)(`webgpu library epilogues${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  reportDeviceTests('epilogue', gpu.backend);
  // (the describe body runs to collect its tests even when they skip: no device is touched here then)
  const be = gpu.backend;

  const make = (name: string, options: WebGPUBackendOptions): Recorded => {
    const backend = new WebGPUBackend(be!.acquired, { ...options, name });
    const programs: Program[] = [];
    const compile = backend.compile.bind(backend);
    backend.compile = (graph) => {
      const exe = compile(graph);
      programs.push((exe as WebGPUExecutable).program);
      return exe;
    };
    registerBackend({ name, priority: -1, load: () => backend });
    setDefaultBackend(REF); // registering a backend resets the default
    return { name, backend, programs };
  };
  // The GEMM path and the direct path (8 invocations per workgroup: no GEMM tile fits), each
  // with epilogues and without.
  const DIRECT = { maxComputeInvocationsPerWorkgroup: 8, maxComputeWorkgroupSizeX: 8 };
  type Pair = { on: Recorded; off: Recorded };
  const pairs: { gemm: Pair; direct: Pair } | null = be && {
    gemm: { on: make('webgpu-epi', { libraryEpilogues: true }), off: make('webgpu-epi-off', { libraryEpilogues: false }) },
    direct: {
      on: make('webgpu-epi-direct', { libraryEpilogues: true, limits: DIRECT }),
      off: make('webgpu-epi-direct-off', { libraryEpilogues: false, limits: DIRECT }),
    },
  };

  const data = (xs: readonly Input[]) => xs.map((x) => randomData(x.dtype ?? 'float32', x.shape.reduce((a, b) => a * b, 1), x.seed));
  const tensors = (xs: readonly Input[], values: readonly TypedArray[], backend: string) =>
    xs.map((x, i) => tensor(values[i]!, { shape: x.shape, dtype: x.dtype ?? 'float32', backend }));
  const list = (r: Tensor | Tensor[]) => (Array.isArray(r) ? r : [r]);

  /** Bit equality of two float32 (or int32) results, NaN payloads aside. */
  const expectBitEqual = async (got: Tensor, want: Tensor, label: string) => {
    const g = await got.dataAsync();
    const w = await want.dataAsync();
    expect(g.length, `${label}: length`).toBe(w.length);
    for (let i = 0; i < w.length; i++)
      if (!Object.is(g[i], w[i]) && !(Number.isNaN(g[i]) && Number.isNaN(w[i]))) expect.fail(`${label}: element ${i} is ${g[i]} with the epilogue, ${w[i]} without`);
  };

  /**
   * `f` jitted on `pair.on` and `pair.off` against the reference; the program on `pair.on` must
   * hold an epilogue on each op of `ops`, and the one on `pair.off` none.
   */
  const check = async (label: string, f: Fn, inputs: readonly Input[], ops: readonly LibraryOp[], pair: Pair, tol: Tol = SUMS) => {
    const values = data(inputs);
    const want = list(f(...tensors(inputs, values, REF)));
    const before = pair.on.programs.length;
    const got = list(jit(f)(...tensors(inputs, values, pair.on.name)));
    const plain = list(jit(f)(...tensors(inputs, values, pair.off.name)));
    const program = pair.on.programs.at(-1)!;
    expect(pair.on.programs.length, `${label}: compiled`).toBe(before + 1);
    for (const op of ops)
      expect(program.kernels.some((k) => k.kind === 'library' && k.op === op && k.epilogue), `${label}: ${op} with an epilogue\n${program}`).toBe(true);
    expect(pair.off.programs.at(-1)!.kernels.some((k) => k.kind === 'library' && k.epilogue), `${label}: no epilogue when off`).toBe(false);
    for (const [i, w] of want.entries()) {
      await expectMatches(got[i]!, w, `${label} on ${pair.on.name}: output ${i}`, w.dtype === 'int32' ? {} : tol);
      await expectBitEqual(got[i]!, plain[i]!, `${label} on ${pair.on.name}: output ${i}`);
    }
    await pair.on.backend.flush();
    await pair.off.backend.flush();
  };

  const col = (v: Tensor) => reshape(v, [1, -1, 1, 1]);
  // Inference: conv, BatchNorm folded to scale and shift, the residual add, ReLU.
  const convBnAddRelu = (opts: { stride: number; padding: number; groups: number }) => (x: Tensor, w: Tensor, s: Tensor, b: Tensor, sc: Tensor) =>
    relu(add(add(mul(conv2d(x, w, opts), col(s)), col(b)), sc));
  // The same with ResNet's option-A shortcut: x subsampled by 2, zero channels appended (the
  // epilogue reads x through a guarded load that touches nothing in the padded channels).
  const convBnShortcutA = (x: Tensor, w: Tensor, s: Tensor, b: Tensor) => {
    const sub2 = slice(x, [null, null, null, null], undefined, [1, 1, 2, 2]);
    const sc = pad(sub2, [[0, 0], [0, 4], [0, 0], [0, 0]]);
    return relu(add(add(mul(conv2d(x, w, { stride: 2, padding: 1, groups: 2 }), col(s)), col(b)), sc));
  };
  // Training: the second convolution's input gradient meets the first block's ReLU mask.
  const twoConvGrads = (w1: Tensor, w2: Tensor, x: Tensor, s: Tensor, b: Tensor) => {
    const loss = (w1: Tensor, w2: Tensor) => sum(tanh(conv2d(relu(add(mul(conv2d(x, w1, { padding: 1 }), col(s)), col(b))), w2, { stride: 2, padding: 1 })));
    return grad(loss, { argnums: [0, 1] })(w1, w2) as unknown as Tensor[];
  };
  // SGD with momentum on a convolution's weights: v' = 0.9 v + dw, w' = w - 0.1 v' (the weight
  // gradient's epilogue computes v').
  const momentumStep = (opts: { stride: number; padding: number; groups: number }) => (w: Tensor, v: Tensor, x: Tensor) => {
    const dw = grad((w: Tensor) => sum(mul(conv2d(x, w, opts), conv2d(x, w, opts))))(w);
    const v2 = add(mul(v, 0.9), dw);
    return [sub(w, mul(v2, 0.1)), v2];
  };

  for (const path of ['gemm', 'direct'] as const) {
    it(`conv2d + BN affine + residual add + ReLU (${path}): stride 1 and 2, padding, groups, option-A shortcut`, async () => {
      const pair = pairs![path];
      await check('conv s1 p1', convBnAddRelu({ stride: 1, padding: 1, groups: 1 }),
        [{ shape: [2, 3, 6, 6], seed: 1 }, { shape: [5, 3, 3, 3], seed: 2 }, { shape: [5], seed: 3 }, { shape: [5], seed: 4 }, { shape: [2, 5, 6, 6], seed: 5 }], ['conv2d'], pair);
      await check('conv s2 p1 g3', convBnAddRelu({ stride: 2, padding: 1, groups: 3 }),
        [{ shape: [2, 6, 7, 7], seed: 6 }, { shape: [9, 2, 3, 3], seed: 7 }, { shape: [9], seed: 8 }, { shape: [9], seed: 9 }, { shape: [2, 9, 4, 4], seed: 10 }], ['conv2d'], pair);
      await check('conv s2 p1 g2, option-A shortcut', convBnShortcutA,
        [{ shape: [2, 4, 9, 9], seed: 11 }, { shape: [8, 2, 3, 3], seed: 12 }, { shape: [8], seed: 13 }, { shape: [8], seed: 14 }], ['conv2d'], pair);
      ranOnDevice();
    });

    it(`conv2dInputGrad with the ReLU mask and conv2dWeightGrad with a momentum update (${path})`, async () => {
      const pair = pairs![path];
      await check('input gradient into the ReLU mask', twoConvGrads,
        [{ shape: [4, 3, 3, 3], seed: 21 }, { shape: [6, 4, 3, 3], seed: 22 }, { shape: [2, 3, 7, 7], seed: 23 }, { shape: [4], seed: 24 }, { shape: [4], seed: 25 }],
        ['conv2dInputGrad'], pair);
      await check('weight gradient + momentum, s2 p1 g2', momentumStep({ stride: 2, padding: 1, groups: 2 }),
        [{ shape: [4, 2, 3, 3], seed: 26 }, { shape: [4, 2, 3, 3], seed: 27 }, { shape: [3, 4, 7, 7], seed: 28 }], ['conv2dWeightGrad'], pair);
      // the kernels of the path under test: GEMM tiles, or none
      const epilogued = [...pair.on.backend.pipelines.sources()].filter((s) => s.what.includes('+ epilogue'));
      for (const op of ['conv2d ', 'conv2dInputGrad ', 'conv2dWeightGrad '])
        expect(epilogued.filter((s) => s.what.includes(`: ${op}`)).map((s) => s.what.includes('(gemm ')), op).toContain(path === 'gemm');
      expect(epilogued.every((s) => s.what.includes('(gemm ') === (path === 'gemm'))).toBe(true);
      ranOnDevice();
    });
  }

  it('conv2dWeightGrad with a momentum update: the direct kernel folding many terms per weight in a workgroup', async () => {
    // 2 x 48 x 48 = 4608 terms per weight element: a workgroup per element (subgroups where the
    // device has them), the epilogue applied by the one invocation that stores.
    await check('weight gradient + momentum, 4608 terms', momentumStep({ stride: 1, padding: 1, groups: 1 }),
      [{ shape: [3, 2, 3, 3], seed: 31 }, { shape: [3, 2, 3, 3], seed: 32 }, { shape: [2, 2, 48, 48], seed: 33 }], ['conv2dWeightGrad'], pairs!.direct);
    expect([...pairs!.direct.on.backend.pipelines.sources()].some((s) => /conv2dWeightGrad x\[2, 2, 48, 48\].*\+ epilogue/.test(s.what) && s.code.includes('var<workgroup> partial'))).toBe(true);
    ranOnDevice();
  });

  it('matmul + bias + tanh (batched float32) and an int32 matmul with an integer epilogue', async () => {
    await check('batched matmul + bias + tanh', (a, m, c) => tanh(add(matmul(a, m), c)),
      [{ shape: [2, 5, 7], seed: 41 }, { shape: [2, 7, 9], seed: 42 }, { shape: [9], seed: 43 }], ['dot'], pairs!.gemm);
    await check('matmul 33x70 @ 70x17 + bias, ReLU', (a, m, c) => relu(add(matmul(a, m), c)),
      [{ shape: [33, 70], seed: 44 }, { shape: [70, 17], seed: 45 }, { shape: [17], seed: 46 }], ['dot'], pairs!.gemm);
    await check('int32 matmul * 3 + c', (a, m, c) => add(mul(matmul(a, m), 3), c),
      [{ shape: [2, 3, 19], dtype: 'int32', seed: 47 }, { shape: [2, 19, 6], dtype: 'int32', seed: 48 }, { shape: [6], dtype: 'int32', seed: 49 }], ['dot'], pairs!.gemm);
    ranOnDevice();
  });

  it('few storage bindings: the extra buffers packed, or the epilogue as an in-place pass of its own', async () => {
    // conv + BN + add + ReLU reads 5 buffers (x, w, then scale, shift and the shortcut).
    const inputs: Input[] = [{ shape: [2, 3, 6, 6], seed: 51 }, { shape: [5, 3, 3, 3], seed: 52 }, { shape: [5], seed: 53 }, { shape: [5], seed: 54 }, { shape: [2, 5, 6, 6], seed: 55 }];
    const f = convBnAddRelu({ stride: 1, padding: 1, groups: 1 });
    // Compared with the GEMM backend without epilogues: the same tiles, the chain unfused.
    const limited = (n: number) => ({ on: make(`webgpu-epi-${n}`, { libraryEpilogues: true, limits: { maxStorageBuffersPerShaderStage: n } }), off: pairs!.gemm.off });
    // 4 bindings: the shortcut would be packed (as many elements as the output): split, the
    // op with 3 bindings, then the pass over out with scale, shift and the shortcut.
    const four = limited(4);
    await check('4 bindings: split', f, inputs, ['conv2d'], four);
    const sources4 = [...four.on.backend.pipelines.sources()];
    expect(sources4.some((s) => s.what.includes('(library epilogue, in place)') && s.code.includes('let red: f32 = out[o];'))).toBe(true);
    expect(sources4.some((s) => s.what.includes('+ epilogue'))).toBe(false);
    // 3 bindings: the in-place pass itself packs its arguments, as any fused kernel would.
    const three = limited(3);
    await check('3 bindings: split, the pass packed', f, inputs, ['conv2d'], three);
    expect([...three.on.backend.pipelines.sources()].some((s) => s.what.includes('(library epilogue, in place)') && s.code.includes('var<storage, read> pack'))).toBe(true);
    // 5 bindings, the shortcut read first: only scale and shift (10 elements) overflow, packed
    // into one binding of the library kernel itself.
    const five = limited(5);
    const g = (x: Tensor, w: Tensor, s: Tensor, b: Tensor, sc: Tensor) => relu(add(mul(add(conv2d(x, w, { padding: 1 }), sc), col(s)), col(b)));
    await check('5 bindings: small buffers packed', g, inputs, ['conv2d'], five);
    expect([...five.on.backend.pipelines.sources()].some((s) => s.what.includes('+ epilogue') && s.code.includes('var<storage, read> pack'))).toBe(true);
    ranOnDevice();
  });
});
