// The WebGPU backend's machinery on a real adapter: buffer pool steady state, pipeline cache,
// one submission per run, errors that name the kernel, adapter limits (argument packing, 2-d
// dispatch) and the registry.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  add, availableBackends, cast, exp, jit, matmul, mul, registerBackend, setDefaultBackend, sum, tensor, type Tensor,
} from '@resgrad/core';
import { acquireDevice, WebGPUBackend, WebGPUKernelError } from '@resgrad/backend-webgpu';
import { expectMatches } from './helpers/compare.js';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';
import { randomData } from './helpers/data.js';

const gpu = await deviceForTests();
const REF = 'reference';
if (!gpu.skip) setDefaultBackend(REF);

describe.skipIf(gpu.skip !== null)(`webgpu backend${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  reportDeviceTests('backend', gpu.backend);
  const be = gpu.backend!;

  it('is registered below the cpu backend and available once initialised', () => {
    const row = availableBackends().find((b) => b.name === 'webgpu');
    expect(row).toEqual({ name: 'webgpu', available: true });
    ranOnDevice();
  });

  it('a jitted step creates no buffer and no pipeline in the steady state, and submits once per run', async () => {
    const step = jit((w: Tensor, x: Tensor) => {
      const y = matmul(x, w);
      return add(w, mul(sum(mul(y, y)), 1e-3));
    });
    const x = tensor(randomData('float32', 8 * 16, 1), { shape: [8, 16], backend: 'webgpu' });
    let w = tensor(randomData('float32', 16 * 16, 2), { shape: [16, 16], backend: 'webgpu' });
    for (let i = 0; i < 3; i++) {
      const next = step(w, x);
      w.dispose();
      w = next;
    }
    await w.dataAsync();
    const created = be.pool.stats.created;
    const pipelines = be.pipelines.created;
    const submissions = be.submissions;
    for (let i = 0; i < 5; i++) {
      const next = step(w, x);
      w.dispose();
      w = next;
    }
    expect(be.submissions - submissions).toBe(5);
    expect(be.pool.stats.created).toBe(created);
    // device memory stays flat: each step's output replaces the disposed previous one
    const inUse = be.memoryInUse();
    const next = step(w, x);
    w.dispose();
    w = next;
    expect(be.memoryInUse()).toBe(inUse);
    expect(be.pipelines.created).toBe(pipelines);
    await w.dataAsync();
    ranOnDevice();
  });

  it('eager ops reuse their cached pipelines', async () => {
    const a = tensor([1, 2, 3], { backend: 'webgpu' });
    await exp(a).dataAsync();
    const created = be.pipelines.created;
    await exp(tensor([4, 5, 6], { backend: 'webgpu' })).dataAsync();
    expect(be.pipelines.created).toBe(created);
    ranOnDevice();
  });

  it('a shader that fails to compile is reported with the kernel name, and the backend keeps working', async () => {
    const bad = be.pipelines.get('@compute @workgroup_size(1) fn main() { let y: i32 = nope; }', 1, 'k9: fused int32[2] (test)');
    await expect(bad.ready).rejects.toThrow(WebGPUKernelError);
    await expect(bad.ready).rejects.toThrow(/kernel k9: fused int32\[2\] \(test\) failed to compile/);
    // the error is reported once; the backend keeps working
    await expect(tensor([1, 2], { backend: 'webgpu' }).dataAsync()).resolves.toEqual(new Float32Array([1, 2]));
    ranOnDevice();
  });

  it('float64 is refused with a clear error', () => {
    expect(() => be.upload(new Float64Array(2), 'float64')).toThrow(/float64 is not supported on WebGPU \(WGSL has no f64\)/);
    ranOnDevice();
  });

  it('small adapter limits: arguments packed into one binding, 2-d dispatch', async () => {
    // A second backend on the same device that pretends the adapter allows 3 storage buffers
    // per stage and 2 workgroups per grid dimension.
    const small = new WebGPUBackend(be.acquired, { name: 'webgpu-small', limits: { maxStorageBuffersPerShaderStage: 3, maxComputeWorkgroupsPerDimension: 2 } });
    registerBackend({ name: 'webgpu-small', priority: -1, load: () => small });
    const n = 250; // 4 workgroups of 64: a 2 x 2 grid
    const xs = [0, 1, 2, 3, 4].map((i) => randomData('float32', n, 60 + i));
    const ints = randomData('int32', n, 70);
    // six buffers (five float32, one int32) and the output: more than 3 bindings, so packed
    const f = (a: Tensor, b: Tensor, c: Tensor, d: Tensor, e: Tensor, k: Tensor) =>
      add(add(mul(a, b), mul(c, d)), mul(e, cast(k, 'float32')));
    const args = (b: string) => [...xs.map((d) => tensor(d, { shape: [n], backend: b })), tensor(ints, { shape: [n], dtype: 'int32', backend: b })];
    const want = f(...(args(REF) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]));
    const got = jit(f)(...(args('webgpu-small') as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]));
    await expectMatches(got, want, 'packed arguments, 2-d grid');
    expect([...small.pipelines.sources()].some((s) => s.code.includes('var<storage, read> pack: array<u32>'))).toBe(true);
    await small.flush();
    ranOnDevice();
  });

  it('keeping the GPU object alive prevents the Dawn ProcessEvents crash (forced GC between GPU awaits)', () => {
    const script = fileURLToPath(new URL('./helpers/dawn-gc.mjs', import.meta.url));
    const run = (mode: string) => spawnSync(process.execPath, ['--expose-gc', script, mode], { encoding: 'utf8', timeout: 60_000 });
    const keep = run('keep');
    expect(keep.status, keep.stderr).toBe(0);
    expect(keep.stdout).toContain('ok');
    ranOnDevice();
  });
});

describe.skipIf(gpu.skip !== null)(`webgpu device loss${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  it('a lost device is reported as such by every later call', async () => {
    const acq = await acquireDevice();
    if ('unavailable' in acq) throw new Error(acq.unavailable);
    const lost = new WebGPUBackend(acq, { name: 'webgpu-lost' });
    lost.destroy();
    await acq.device.lost;
    expect(() => lost.upload(new Float32Array(4), 'float32')).toThrow(/the WebGPU device was lost \(destroyed/);
    ranOnDevice();
  });
});
