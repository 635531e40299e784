// Access to a real WebGPU adapter for the device tests. They run only inside
// `npm run test:webgpu` (scripts/test-webgpu.mjs), which sets RESGRAD_WEBGPU_TESTS=1 and the CPU
// adapter's environment, in a child process of their own. Anywhere else they skip with a
// one-line reason, so the default `npm test` never depends on a GPU or on Dawn.
import { appendFileSync } from 'node:fs';
import { afterAll } from 'vitest';
import { initWebGPU, type WebGPUBackend } from '@resgrad/backend-webgpu';

export type DeviceForTests = { backend: WebGPUBackend; skip: null } | { backend: null; skip: string };

let cached: Promise<DeviceForTests> | null = null;

/** The registered 'webgpu' backend, or the reason the device tests skip. */
export function deviceForTests(): Promise<DeviceForTests> {
  cached ??= (async (): Promise<DeviceForTests> => {
    if (process.env.RESGRAD_WEBGPU_TESTS !== '1')
      return { backend: null, skip: 'WebGPU device tests run in `npm run test:webgpu` (CPU adapter, in a child process)' };
    const r = await initWebGPU();
    if ('unavailable' in r) {
      // Inside test:webgpu a missing adapter is a failure, not a skip: the runner asked for it.
      throw new Error(`RESGRAD_WEBGPU_TESTS=1 but the webgpu backend is unavailable: ${r.unavailable}`);
    }
    return { backend: r, skip: null };
  })();
  return cached;
}

let executed = 0;

/** Counts a test that ran on the adapter (the runner fails when none did). */
export function ranOnDevice(): void {
  executed++;
}

/** Reports this file's count of device-executed tests to the runner (RESGRAD_WEBGPU_REPORT). */
export function reportDeviceTests(file: string, backend: WebGPUBackend | null): void {
  afterAll(async () => {
    const out = process.env.RESGRAD_WEBGPU_REPORT;
    if (backend) await backend.flush();
    if (!out || !backend) return;
    const line = {
      file,
      executed,
      adapter: backend.description,
      noOpt: process.execArgv.includes('--no-opt'),
      pipelines: backend.pipelines.created,
      buffersCreated: backend.pool.stats.created,
    };
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  });
}
