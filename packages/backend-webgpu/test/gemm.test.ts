// The tiled GEMM kernels (src/wgsl/gemm.ts) against the reference backend: the matmul and the
// implicit-GEMM convolutions (forward, input gradient, weight gradient) on shapes whose tiles do
// not divide them (odd sizes), with stride, padding, dilation and groups, batched and int32
// matmuls, and small adapter limits that force smaller tiles or the direct kernels.
import { describe, expect, it } from 'vitest';
import { conv2d, grad, jit, matmul, mul, registerBackend, setDefaultBackend, sum, tensor, type Tensor } from '@resgrad/core';
import { WebGPUBackend } from '@resgrad/backend-webgpu';
import { gemmTiles } from '../src/wgsl/gemm.js';
import { expectMatches } from './helpers/compare.js';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';
import { randomData } from './helpers/data.js';

const gpu = await deviceForTests();
const REF = 'reference';
if (!gpu.skip) setDefaultBackend(REF);
const SUMS = { rtol: 2e-4, sums: true };
const LIMITS = { maxComputeWorkgroupsPerDimension: 65535, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupStorageSize: 16384 };

describe('gemm tiles', () => {
  it('fit the adapter limits and shrink for small products', () => {
    expect(gemmTiles(512, 512, 1, LIMITS)).toEqual({ BM: 64, BN: 64, BK: 16 });
    expect(gemmTiles(16, 16384, 1, LIMITS)).toEqual({ BM: 16, BN: 64, BK: 16 });
    // few tiles: smaller ones, so that several workgroups run
    expect(gemmTiles(16, 144, 1, LIMITS)).toEqual({ BM: 16, BN: 16, BK: 16 });
    // 64 invocations at most: 32 x 32 tiles (8 x 8 invocations)
    const t = gemmTiles(512, 512, 1, { ...LIMITS, maxComputeInvocationsPerWorkgroup: 64 })!;
    expect((t.BM / 4) * (t.BN / 4)).toBeLessThanOrEqual(64);
    // nothing fits: null (the direct kernels run)
    expect(gemmTiles(512, 512, 1, { ...LIMITS, maxComputeInvocationsPerWorkgroup: 8 })).toBeNull();
    expect(gemmTiles(16, 64 * 70000, 1, LIMITS)).toBeNull(); // over 65535 workgroups along N
  });
});

describe.skipIf(gpu.skip !== null)(`webgpu tiled GEMM kernels${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  reportDeviceTests('gemm', gpu.backend);
  const be = gpu.backend!;

  const convCase = async (backend: string, xs: number[], ws: number[], opts: { stride: number; padding: number; dilation: number; groups: number }, seed: number, grads = true) => {
    const xd = randomData('float32', xs.reduce((a, b) => a * b), seed);
    const wd = randomData('float32', ws.reduce((a, b) => a * b), seed + 1);
    const on = (b: string) => [tensor(xd, { shape: xs, backend: b }), tensor(wd, { shape: ws, backend: b })] as const;
    const label = `conv x[${xs}] w[${ws}] s${opts.stride} p${opts.padding} d${opts.dilation} g${opts.groups}`;
    await expectMatches(jit((a: Tensor, b: Tensor) => conv2d(a, b, opts))(...on(backend)), conv2d(...on(REF), opts), label, SUMS);
    if (!grads) return;
    const g = grad((a: Tensor, b: Tensor) => sum(mul(conv2d(a, b, opts), conv2d(a, b, opts))), { argnums: [0, 1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[];
    const want = g(...on(REF));
    const got = jit(g)(...on(backend));
    await expectMatches(got[0]!, want[0]!, `${label}: input gradient`, SUMS);
    await expectMatches(got[1]!, want[1]!, `${label}: weight gradient`, SUMS);
  };

  it('convolutions and their gradients: odd sizes, stride, padding, dilation, groups', async () => {
    const cases: [number[], number[], number, number, number, number][] = [
      [[3, 5, 7, 9], [7, 5, 3, 2], 2, 2, 2, 1],
      [[2, 6, 11, 10], [9, 2, 3, 3], 2, 1, 1, 3],
      [[3, 20, 9, 7], [70, 20, 1, 1], 1, 0, 1, 1],
      [[2, 3, 13, 13], [5, 3, 5, 5], 3, 2, 1, 1],
      [[2, 8, 9, 9], [8, 1, 3, 3], 1, 1, 1, 8], // depthwise
      [[1, 17, 5, 6], [33, 17, 3, 3], 1, 1, 1, 1], // K = 153 and M = 33: no tile divides them
    ];
    let seed = 100;
    for (const [xs, ws, stride, padding, dilation, groups] of cases) await convCase('webgpu', xs, ws, { stride, padding, dilation, groups }, (seed += 2));
    expect([...be.pipelines.sources()].filter((s) => /conv2d(InputGrad|WeightGrad)? .*\(gemm /.test(s.what)).length).toBeGreaterThanOrEqual(3);
    ranOnDevice();
  });

  it('matmul: odd sizes, batched, int32', async () => {
    for (const [m, k, n, seed] of [[70, 33, 129, 1], [5, 3, 2, 2], [64, 64, 64, 3], [17, 100, 1, 4], [1, 1, 1, 5]] as const) {
      const a = randomData('float32', m * k, 10 + seed);
      const b = randomData('float32', k * n, 20 + seed);
      const on = (be: string) => [tensor(a, { shape: [m, k], backend: be }), tensor(b, { shape: [k, n], backend: be })] as const;
      await expectMatches(jit(matmul)(...on('webgpu')), matmul(...on(REF)), `matmul ${m}x${k}x${n}`, SUMS);
    }
    const a = randomData('float32', 3 * 9 * 21, 30);
    const b = randomData('float32', 3 * 21 * 5, 31);
    const on = (be: string) => [tensor(a, { shape: [3, 9, 21], backend: be }), tensor(b, { shape: [3, 21, 5], backend: be })] as const;
    await expectMatches(jit(matmul)(...on('webgpu')), matmul(...on(REF)), 'batched matmul', SUMS);
    const ia = Int32Array.from({ length: 2 * 3 * 19 }, (_, i) => (i % 7) - 3);
    const ib = Int32Array.from({ length: 2 * 19 * 6 }, (_, i) => (i % 5) - 2);
    const ion = (be: string) => [tensor(ia, { shape: [2, 3, 19], dtype: 'int32', backend: be }), tensor(ib, { shape: [2, 19, 6], dtype: 'int32', backend: be })] as const;
    await expectMatches(jit(matmul)(...ion('webgpu')), matmul(...ion(REF)), 'int32 batched matmul');
    ranOnDevice();
  });

  it('small workgroup limits: smaller tiles, or the direct kernels when no tile fits', async () => {
    for (const [name, maxInv] of [['webgpu-gemm-small', 32], ['webgpu-gemm-none', 8]] as const) {
      const small = new WebGPUBackend(be.acquired, { name, limits: { maxComputeInvocationsPerWorkgroup: maxInv, maxComputeWorkgroupSizeX: maxInv } });
      registerBackend({ name, priority: -1, load: () => small });
      await convCase(name, [2, 6, 7, 7], [10, 6, 3, 3], { stride: 2, padding: 1, dilation: 1, groups: 1 }, 200, false);
      const a = randomData('float32', 40 * 30, 210);
      const b = randomData('float32', 30 * 50, 211);
      const on = (bn: string) => [tensor(a, { shape: [40, 30], backend: bn }), tensor(b, { shape: [30, 50], backend: bn })] as const;
      if (maxInv === 8) expect(() => jit(matmul)(...on(name))).toThrow(/no matmul tiling fits the adapter's limits/);
      else await expectMatches(jit(matmul)(...on(name)), matmul(...on(REF)), `${name}: matmul`, SUMS);
      const gemms = [...small.pipelines.sources()].filter((s) => s.what.includes('(gemm ')).length;
      if (maxInv === 8) expect(gemms).toBe(0);
      else expect(gemms).toBe(2);
      await small.flush();
    }
    ranOnDevice();
  });
});
