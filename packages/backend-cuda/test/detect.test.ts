// Driver and library detection, error messages and the caching allocator, without a GPU
// (the allocator runs against a fake driver).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { availableBackends } from '@resgrad/core';
import {
  CachingAllocator, chooseTarget, CudaError, CudaOutOfMemoryError, CUDA_PRIORITY, describeCuResult, type Driver, findIn, findNvrtc,
  loadCudaBackend, roundSize,
} from '@resgrad/backend-cuda';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const touch = (dir: string, ...files: string[]) => {
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), '');
};

describe('detection', () => {
  it.skipIf(loadCudaBackend() && !('unavailable' in loadCudaBackend()))('without libcuda the backend is unavailable and says where it looked', () => {
    const empty = mkdtempSync(join(tmpdir(), 'resgrad-nocuda-'));
    process.env.RESGRAD_CUDA_PATH = empty;
    const r = loadCudaBackend();
    expect('unavailable' in r && r.unavailable).toMatch(/^no CUDA driver: libcuda\.so\.1 not found \(searched .*resgrad-nocuda-.*dynamic loader/);
    const status = availableBackends().find((b) => b.name === 'cuda');
    expect(status?.available).toBe(false);
    expect(status?.reason).toMatch(/libcuda\.so\.1 not found/);
  });

  it('ranks cuda above cpu and reference', () => {
    expect(CUDA_PRIORITY).toBeGreaterThan(10);
    const names = availableBackends().map((b) => b.name);
    expect(names.indexOf('cuda')).toBeLessThan(names.indexOf('reference'));
  });

  it('finds NVRTC and its builtins in Python wheels (site-packages/nvidia/*/lib)', () => {
    const site = mkdtempSync(join(tmpdir(), 'resgrad-site-'));
    touch(join(site, 'nvidia/cu13/lib'), 'libnvrtc.so.13', 'libnvrtc.so.12', 'libnvrtc-builtins.so.13.0', 'libcublas.so.13');
    process.env.PYTHONPATH = site;
    process.env.RESGRAD_CUDA_NO_PYTHON = '1';
    process.env.LD_LIBRARY_PATH = '';
    const found = findNvrtc();
    // A toolkit NVRTC on this machine would come first; the wheel's must be found otherwise.
    if (found.path?.startsWith(site)) {
      expect(found.path).toBe(join(site, 'nvidia/cu13/lib/libnvrtc.so.13'));
      expect(found.builtins).toBe(join(site, 'nvidia/cu13/lib/libnvrtc-builtins.so.13.0'));
    }
    expect(found.searched.some((d) => d.startsWith(site))).toBe(true);
  });

  it('takes the newest version within a folder and skips builtins when asked', () => {
    const d = mkdtempSync(join(tmpdir(), 'resgrad-libs-'));
    touch(d, 'libnvrtc.so.11.2', 'libnvrtc.so.12', 'libnvrtc-builtins.so.12.4', 'libnvrtcx.so');
    expect(findIn([d], 'nvrtc', (f) => !f.includes('builtins'))).toBe(join(d, 'libnvrtc.so.12'));
    expect(findIn([d], 'nvrtc-builtins')).toBe(join(d, 'libnvrtc-builtins.so.12.4'));
    expect(findIn([d], 'cublas')).toBeNull();
  });

  it('compiles CUBIN for a supported architecture, else PTX for the newest one below', () => {
    expect(chooseTarget([9, 0], [80, 86, 89, 90])).toBe('sm_90');
    expect(chooseTarget([10, 0], [80, 86, 89, 90])).toBe('compute_90');
    expect(() => chooseTarget([7, 0], [80])).toThrow(/no architecture up to sm_70/);
  });
});

describe('errors', () => {
  it('name the call, the code and the message', () => {
    const d = describeCuResult(700);
    const e = new CudaError('driver', 'cuLaunchKernel', 700, d.name, d.message);
    expect(e.message).toBe('@resgrad/backend-cuda: cuLaunchKernel failed with CUDA_ERROR_ILLEGAL_ADDRESS (700): an illegal memory access was encountered');
    expect(describeCuResult(12345).name).toBe('CUresult 12345');
  });

  it('out of memory names the request and the free memory', () => {
    const e = new CudaOutOfMemoryError('cuMemAlloc_v2', 3 * 2 ** 30, 512 * 2 ** 20, 141 * 2 ** 30, 2 ** 20);
    expect(e.message).toMatch(/out of memory allocating 3\.00 GiB \(512\.00 MiB free of 141\.00 GiB on the device\)/);
    expect(e.requestedBytes).toBe(3 * 2 ** 30);
  });
});

/** A driver that hands out fake addresses and fails with OOM above `capacity` live bytes. */
function fakeDriver(capacity: number) {
  let live = 0;
  let next = 0x1000n;
  const sizes = new Map<bigint, number>();
  const calls: string[] = [];
  const drv = {
    tryAlloc(bytes: number) {
      calls.push(`alloc ${bytes}`);
      if (live + bytes > capacity) return { code: 2 };
      live += bytes;
      const ptr = next;
      next += BigInt(bytes);
      sizes.set(ptr, bytes);
      return { ptr };
    },
    call(name: string, ...args: unknown[]) {
      calls.push(name);
      if (name === 'cuMemFree_v2') live -= sizes.get(args[0] as bigint)!;
    },
    check(call: string, code: number) {
      if (code) throw new Error(`${call} ${code}`);
    },
    memInfo: () => ({ free: capacity - live, total: capacity }),
  };
  return { drv: drv as unknown as Driver, calls };
}

describe('caching allocator', () => {
  it('rounds sizes into classes', () => {
    expect(roundSize(1)).toBe(512);
    expect(roundSize(1000)).toBe(1024);
    expect(roundSize(3 << 20)).toBe(3 << 20);
    expect(roundSize((3 << 20) + 1)).toBe((3 << 20) + (1 << 18));
  });

  it('reuses freed blocks without calling the driver, waiting across streams', () => {
    const { drv, calls } = fakeDriver(1 << 30);
    const a = new CachingAllocator(drv);
    const b1 = a.allocate(4000, 1n);
    a.release(b1, 1n, 7n);
    const before = calls.length;
    const b2 = a.allocate(3900, 2n);
    expect(b2.ptr).toBe(b1.ptr);
    expect(calls.slice(before)).toEqual(['cuStreamWaitEvent']);
    expect(a.inUse).toBe(4096);
  });

  it('hands back a preferred free block, whatever order blocks were freed in', () => {
    const { drv } = fakeDriver(1 << 30);
    const a = new CachingAllocator(drv);
    const [x, y, z] = [a.allocate(4096, 1n), a.allocate(4096, 1n), a.allocate(4096, 1n)];
    for (const b of [y, z, x]) a.release(b, 1n, null);
    expect(a.allocate(4000, 1n, [undefined, x.ptr]).ptr).toBe(x.ptr);
    expect(a.allocate(4000, 1n, [123n, x.ptr]).ptr).toBe(z.ptr); // x is taken, 123 unknown: the last freed
    expect(a.allocate(100_000, 1n, [y.ptr]).ptr).not.toBe(y.ptr); // another size class
    expect(a.allocate(4000, 1n, [y.ptr]).ptr).toBe(y.ptr);
  });

  it('frees the cache and retries on OOM, then names the request and free memory', () => {
    const { drv, calls } = fakeDriver(1 << 20);
    const a = new CachingAllocator(drv);
    a.release(a.allocate(600_000, null), null, null);
    const big = a.allocate(900_000, null); // fits only after the cached block is freed
    expect(big.bytes).toBe(roundSize(900_000));
    expect(calls).toContain('cuMemFree_v2');
    expect(() => a.allocate(900_000, null)).toThrow(CudaOutOfMemoryError);
    expect(() => a.allocate(900_000, null)).toThrow(/allocating 879\.00 KiB \(.* free of 1\.00 MiB/);
  });
});
