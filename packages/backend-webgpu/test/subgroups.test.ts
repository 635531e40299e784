// Subgroup reductions on a real adapter (npm run test:webgpu): the backend uses them exactly
// where the device and WGSL allow, and the reductions with subgroups and with the workgroup
// tree (a second backend on the same device, `subgroups: false`) both match the reference:
// sums within the float32 sum tolerance (the order of additions changes), max, integer sums
// and bool max exactly, NaN and infinities included; then random shapes; then the direct
// weight-gradient kernel, whose workgroups combine the same way.
import { describe, expect, it } from 'vitest';
import { fc, test as prop } from '@fast-check/vitest';
import {
  add, conv2d, grad, jit, max, mean, mul, registerBackend, setDefaultBackend, sum, tensor, variance, type DType, type Tensor,
} from '@resgrad/core';
import { subgroupsAvailable, WebGPUBackend } from '@resgrad/backend-webgpu';
import { featureSupport } from '../src/features.js';
import { expectMatches, type Tol } from './helpers/compare.js';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';
import { randomData } from './helpers/data.js';

const gpu = await deviceForTests();
const REF = 'reference';
if (!gpu.skip) setDefaultBackend(REF);
const SUMS: Tol = { rtol: 2e-4, sums: true };

describe.skipIf(gpu.skip !== null)(`webgpu subgroup reductions${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  reportDeviceTests('subgroups', gpu.backend);
  const be = gpu.backend!;
  const tree = gpu.backend ? new WebGPUBackend(be.acquired, { name: 'webgpu-tree', subgroups: false }) : null;
  if (tree) {
    registerBackend({ name: 'webgpu-tree', priority: -1, load: () => tree });
    // registering a backend resets the default backend
    setDefaultBackend(REF);
  }
  const both = ['webgpu', 'webgpu-tree'] as const;

  it('are used exactly where the device has subgroups and WGSL has subgroup_id and subgroup_uniformity', () => {
    const support = featureSupport(be.acquired.gpu, be.device, be.description);
    expect(be.shaderFeatures.subgroups).toBe(subgroupsAvailable(support));
    expect(tree!.shaderFeatures.subgroups).toBe(false);
    console.info(
      `subgroups.test: ${be.description}: subgroup reductions ${be.shaderFeatures.subgroups ? 'on' : 'off'}; device features [${[...support.device].sort().join(', ')}]`,
    );
    ranOnDevice();
  });

  /** `f` of host `data` shaped `shape` on both WebGPU backends against the reference. */
  const check = async (label: string, f: (t: Tensor) => Tensor, data: ArrayLike<number>, dtype: DType, shape: number[], tol: Tol = {}) => {
    const on = (b: string) => tensor(data as Float32Array, { shape, dtype, backend: b });
    const want = f(on(REF));
    for (const b of both) await expectMatches(jit(f)(on(b)), want, `${label} on ${b}`, tol);
  };

  it('sum, max, mean and variance: long reductions against the reference, with and without subgroups', async () => {
    const f32 = (n: number, seed: number, special = false) => randomData('float32', n, seed, { special });
    await check('float32 sum [3, 1000]', (t) => sum(t, [1]), f32(3000, 1), 'float32', [3, 1000], SUMS);
    await check('float32 sum [2, 129]', (t) => sum(t, [1]), f32(258, 2), 'float32', [2, 129], SUMS);
    await check('float32 sum over [0, 2, 3] of [4, 3, 9, 11]', (t) => sum(t, [0, 2, 3]), f32(4 * 3 * 99, 3), 'float32', [4, 3, 9, 11], SUMS);
    await check('float32 sum with infinities and NaN', (t) => sum(t, [1]), f32(4 * 300, 4, true), 'float32', [4, 300], SUMS);
    await check('float32 max [5, 300]', (t) => max(t, [1]), f32(1500, 5), 'float32', [5, 300]);
    await check('float32 max with NaN and infinities', (t) => max(t, [1]), f32(6 * 400, 6, true), 'float32', [6, 400]);
    // every element NaN in one row, -infinity in another: NaN, and -infinity
    const edge = new Float32Array(2 * 200);
    edge.fill(NaN, 0, 200);
    edge.fill(-Infinity, 200);
    await check('float32 max of all-NaN and all--infinity rows', (t) => max(t, [1]), edge, 'float32', [2, 200]);
    const i32 = (n: number, seed: number) => randomData('int32', n, seed, { special: true });
    await check('int32 sum (wrapping)', (t) => sum(t, [1]), i32(3 * 700, 7), 'int32', [3, 700]);
    await check('int32 max', (t) => max(t, [1]), i32(3 * 513, 8), 'int32', [3, 513]);
    const bools = randomData('bool', 2 * 300, 9);
    bools.fill(0, 0, 300); // one all-false row
    await check('bool max (any)', (t) => max(t, [1]), bools, 'bool', [2, 300]);
    await check('mean + variance over [0, 2, 3] of [8, 4, 6, 6]', (t) => add(mean(t, [0, 2, 3]), variance(t, [0, 2, 3])), f32(8 * 4 * 36, 10), 'float32', [8, 4, 6, 6], SUMS);
    const kinds = (b: WebGPUBackend) => [...b.pipelines.sources()].filter((s) => / over \[/.test(s.what));
    if (be.shaderFeatures.subgroups) expect(kinds(be).filter((s) => s.what.endsWith('(subgroups)') && s.code.startsWith('enable subgroups;')).length).toBeGreaterThanOrEqual(8);
    expect(kinds(tree!).some((s) => /subgroup/.test(s.code))).toBe(false);
    await be.flush();
    await tree!.flush();
    ranOnDevice();
  });

  prop.prop(
    [fc.constantFrom<'sum' | 'max'>('sum', 'max'), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 128, max: 3000 }), fc.integer({ min: 0, max: 1e6 })],
    { numRuns: 6 },
  )('random float32 reductions with subgroups match the reference', async (op, rows, cols, seed) => {
    const f = (t: Tensor) => (op === 'sum' ? sum(t, [1]) : max(t, [1]));
    const data = randomData('float32', rows * cols, seed, { special: seed % 3 === 0 });
    const on = (b: string) => tensor(data, { shape: [rows, cols], backend: b });
    await expectMatches(jit(f)(on('webgpu')), f(on(REF)), `${op} [${rows}, ${cols}] seed ${seed}`, op === 'sum' ? SUMS : {});
    ranOnDevice();
  });

  it('the direct weight-gradient kernel (no GEMM tile fits) combines its workgroups with subgroups', async () => {
    // 8 invocations at most: no GEMM tiling fits, so the direct convolution kernels run; the
    // weight gradient has 2 * 48 * 48 = 4608 terms per element: a workgroup (of 8) each
    const name = 'webgpu-sg-direct';
    const small = new WebGPUBackend(be.acquired, { name, limits: { maxComputeInvocationsPerWorkgroup: 8, maxComputeWorkgroupSizeX: 8 } });
    registerBackend({ name, priority: -1, load: () => small });
    setDefaultBackend(REF); // registering a backend resets the default
    const xs = [2, 2, 48, 48];
    const ws = [3, 2, 3, 3];
    const xd = randomData('float32', 2 * 2 * 48 * 48, 300);
    const wd = randomData('float32', 3 * 2 * 9, 301);
    const g = grad((x: Tensor, w: Tensor) => sum(mul(conv2d(x, w, { padding: 1 }), conv2d(x, w, { padding: 1 }))), { argnums: [1] }) as unknown as (x: Tensor, w: Tensor) => Tensor[];
    const on = (b: string) => [tensor(xd, { shape: xs, backend: b }), tensor(wd, { shape: ws, backend: b })] as const;
    await expectMatches(jit(g)(...on(name))[0]!, g(...on(REF))[0]!, 'weight gradient, 4608 terms, direct kernel', SUMS);
    const wgrad = [...small.pipelines.sources()].filter((s) => s.what.includes('conv2dWeightGrad'));
    expect(wgrad).toHaveLength(1);
    expect(wgrad[0]!.what).not.toContain('(gemm');
    expect(wgrad[0]!.code.includes('subgroupAdd(acc)')).toBe(small.shaderFeatures.subgroups);
    await small.flush();
    ranOnDevice();
  });
});
