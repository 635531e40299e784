// The conformance suite (packages/core/test/conformance/suite.ts) on the WebGPU backend, on a
// real adapter (`npm run test:webgpu`; elsewhere it skips with the reason). WGSL has no f64:
// the float64 checks are left out and float64 must be rejected with a clear error. Float32
// tolerances: add/sub/mul are correctly rounded in WGSL; exp/log/sqrt/rsqrt/reciprocal/sin/cos/
// tanh, div and pow are within WGSL's documented ULP or absolute bounds (TRANSCENDENTAL); sums
// are reassociated (workgroup trees, tiles), which the suite's float32 SUMS tolerance allows.
import { describe, expect, it } from 'vitest';
import { setDefaultBackend } from '@resgrad/core';
import { compilationMessages } from '@resgrad/backend-webgpu';
import { describeConformance } from '../../core/test/conformance/suite.js';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';

const gpu = await deviceForTests();
// Constants captured while tracing live on the default backend, and core moves them to the
// inputs' backend with a synchronous read: they must not live on WebGPU when a traced graph is
// evaluated eagerly on reference tensors (with webgpu registered and no cpu, webgpu would be
// the default).
if (!gpu.skip) setDefaultBackend('reference');
reportDeviceTests('conformance', gpu.backend);

const TRANSCENDENTAL = { rtol: 2e-5, atol: 2e-6 };

describeConformance('webgpu', {
  float64: false,
  float64Error: /float64 is not supported on WebGPU/,
  // float32 normal goes through log/sqrt/cos: within WGSL's transcendental bounds, not bit-identical
  tolerances: { transcendental: TRANSCENDENTAL, normal: { rtol: 1e-4, atol: 1e-5 } },
  // sin and cos are accurate for |x| <= 1e5 (see the prelude); larger finite inputs are replaced
  sinDomain: { maxAbs: 1e5 },
  onChecked: ranOnDevice,
  skip: gpu.skip,
});

// After the suite (tests run in order): the WGSL of every kernel it generated.
describe.skipIf(gpu.skip !== null)(`webgpu kernels of the conformance suite${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
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
});
