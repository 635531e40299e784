// The opt-in f16 GEMM tiles (matmulPrecision 'f16'), on a real adapter (npm run test:webgpu).
//
// Numerics, executed: the matmul and the three implicit-GEMM convolutions with f16 tiles
// against the reference, element by element within the bound the f16 rounding allows (see
// src/wgsl/gemm.ts). On a device with 'shader-f16' the native vec4<f16> tiles run; on one
// without (SwiftShader) the same f16 values packed in u32 words (pack2x16float) run instead.
//
// WGSL, validated: the native f16 shaders (and the subgroup reductions beside them) on Dawn's
// null backend, which offers 'shader-f16' and 'subgroups' and checks WGSL in Dawn's front end
// (Tint) but executes nothing. Where Dawn's null adapter is missing, that test skips.
import { describe, expect, it } from 'vitest';
import { conv2d, grad, jit, matmul, max, mul, registerBackend, setDefaultBackend, sum, tensor, zeros, type Tensor } from '@resgrad/core';
import { acquireDevice, compilationMessages, WebGPUBackend, type AcquiredDevice } from '@resgrad/backend-webgpu';
import { deviceForTests, ranOnDevice, reportDeviceTests } from './helpers/device.js';
import { randomData } from './helpers/data.js';

const gpu = await deviceForTests();
const REF = 'reference';
if (!gpu.skip) setDefaultBackend(REF);

interface Operand {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}
const operand = (shape: number[], seed: number): Operand => ({ data: randomData('float32', shape.reduce((a, b) => a * b), seed) as Float32Array, shape });
const on = (o: Operand, backend: string, map?: (v: number) => number) =>
  tensor(map ? o.data.map(map) : o.data, { shape: [...o.shape], backend });

/**
 * Checks bilinear `B(a, b)` (each result element a sum of K products a_k * b_k) on `backend`
 * against the reference, within the f16-tile bound per element:
 *   |got - want| <= (2^-9 + 2^-20 + (K + 2) 2^-24) S + 2^-14 T,
 * S = sum |a_k| |b_k| = B(|a|, |b|) (the operands' rounding to f16, 2^-10 each, and the f32
 * accumulation and the reference's final rounding), T = B(|a|, 1) + B(1, |b|) (an operand
 * below 2^-14 may be flushed to zero). Returns max |got - want| / S.
 */
async function checkBilinear(label: string, B: (a: Tensor, b: Tensor) => Tensor, a: Operand, b: Operand, K: number, backend: string): Promise<number> {
  const got = await jit(B)(on(a, backend), on(b, backend)).dataAsync();
  const want = await B(on(a, REF), on(b, REF)).dataAsync();
  const S = await B(on(a, REF, Math.abs), on(b, REF, Math.abs)).dataAsync();
  const T1 = await B(on(a, REF, Math.abs), on(b, REF, () => 1)).dataAsync();
  const T2 = await B(on(a, REF, () => 1), on(b, REF, Math.abs)).dataAsync();
  const rel = 2 ** -9 + 2 ** -20 + (K + 2) * 2 ** -24;
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    const bound = rel * S[i]! + 2 ** -14 * (T1[i]! + T2[i]!);
    if (!(err <= bound)) expect.fail(`${label}: element ${i} is ${got[i]}, reference ${want[i]}: error ${err} above the f16 bound ${bound}`);
    if (S[i]! > 0) worst = Math.max(worst, err / S[i]!);
  }
  return worst;
}

const CONV = { stride: 2, padding: 1, dilation: 1, groups: 1 };
const X_SHAPE = [2, 5, 9, 8];
const W_SHAPE = [7, 5, 3, 3];
// The convolution's gradients as bilinear functions: the gradient of the linear map
// x -> sum(conv(x, w) * dy) is the same at every x (taken at 0), likewise for w.
/** dx = conv2dInputGrad(dy, w). */
const inputGrad = (dy: Tensor, w: Tensor) => grad((xx: Tensor) => sum(mul(conv2d(xx, w, CONV), dy)))(zeros(X_SHAPE)) as Tensor;
/** dw = conv2dWeightGrad(x, dy). */
const weightGrad = (x: Tensor, dy: Tensor) => grad((ww: Tensor) => sum(mul(conv2d(x, ww, CONV), dy)))(zeros(W_SHAPE)) as Tensor;

describe.skipIf(gpu.skip !== null)(`webgpu f16 GEMM tiles${gpu.skip ? ` (skipped: ${gpu.skip})` : ''}`, () => {
  reportDeviceTests('gemm-f16', gpu.backend);
  const be = gpu.backend!;
  const native = gpu.backend ? be.device.features.has('shader-f16') : false;

  it(`'f16' on a device without shader-f16 is refused with a clear error; the default stays f32`, () => {
    expect(be.matmulPrecision).toBe(process.env.RESGRAD_WEBGPU_MATMUL_PRECISION === 'f16' && native ? 'f16' : 'f32');
    if (native) new WebGPUBackend(be.acquired, { name: 'webgpu-f16-check', matmulPrecision: 'f16' });
    else expect(() => new WebGPUBackend(be.acquired, { name: 'webgpu-f16-check', matmulPrecision: 'f16' })).toThrow(/matmulPrecision 'f16' needs the WebGPU feature 'shader-f16', which the device on .* does not have; use 'f32'/);
    ranOnDevice();
  });

  it(`matmul and implicit-GEMM convolutions within the f16 bound (${native ? 'native vec4<f16> tiles' : 'f16 packed in u32: the device has no shader-f16'})`, async () => {
    const name = 'webgpu-f16';
    const f16 = new WebGPUBackend(be.acquired, { name, matmulPrecision: 'f16', packedF16Tiles: !native });
    registerBackend({ name, priority: -1, load: () => f16 });
    setDefaultBackend(REF); // registering a backend resets the default
    const worst = await checkBilinear('matmul 70x33x129', matmul, operand([70, 33], 1), operand([33, 129], 2), 33, name);
    // f32 tiles could not err by more than (K + 2) 2^-24 = 2e-6 of S: this ran in f16
    expect(worst).toBeGreaterThan(2 ** -16);
    await checkBilinear('batched matmul', matmul, operand([3, 9, 21], 3), operand([3, 21, 5], 4), 21, name);
    const x = operand(X_SHAPE, 5);
    const w = operand(W_SHAPE, 6);
    await checkBilinear('conv2d', (a, b) => conv2d(a, b, CONV), x, w, 5 * 9, name);
    const dy = operand([2, 7, 5, 4], 7);
    await checkBilinear('conv2d input gradient', inputGrad, dy, w, 7 * 9, name);
    await checkBilinear('conv2d weight gradient', weightGrad, x, dy, 2 * 5 * 4, name);
    const gemms = [...f16.pipelines.sources()].filter((s) => s.what.includes('(gemm '));
    expect(gemms.length).toBeGreaterThanOrEqual(4);
    for (const s of gemms) expect(s.what).toContain(native ? ' f16 tiles)' : ' f16-packed tiles)');
    await f16.flush();
    ranOnDevice();
  });
});

// Dawn's null backend (Node only): a device with 'shader-f16' and 'subgroups' whatever the machine.
const nullDevice: AcquiredDevice | { unavailable: string } = gpu.skip
  ? { unavailable: gpu.skip }
  : await acquireDevice({ dawnOptions: ['backend=null'] }).catch((e: Error) => ({ unavailable: e.message }));
const nullSkip =
  'unavailable' in nullDevice
    ? nullDevice.unavailable
    : !nullDevice.device.features.has('shader-f16')
      ? `Dawn's null adapter has no shader-f16 here`
      : null;

describe.skipIf(nullSkip !== null)(`native f16 tiles and subgroup reductions, validated on Dawn's null backend${nullSkip ? ` (skipped: ${nullSkip})` : ''}`, () => {
  it('every kernel of a matmul, a convolution with its gradients and long reductions validates (not executed)', async () => {
    const acq = nullDevice as AcquiredDevice;
    const name = 'webgpu-null-f16';
    const nb = new WebGPUBackend(acq, { name, matmulPrecision: 'f16' });
    registerBackend({ name, priority: -1, load: () => nb });
    setDefaultBackend(REF); // registering a backend resets the default
    expect(nb.shaderFeatures.gemmTiles).toBe('f16');
    const t = (o: Operand) => on(o, name);
    const x = operand(X_SHAPE, 11);
    const w = operand(W_SHAPE, 12);
    // the null device executes nothing: the outputs are not read, only the shaders checked
    jit(matmul)(t(operand([70, 33], 13)), t(operand([33, 129], 14)));
    const loss = (xx: Tensor, ww: Tensor) => sum(mul(conv2d(xx, ww, CONV), conv2d(xx, ww, CONV)));
    jit(grad(loss, { argnums: [0, 1] }) as unknown as (a: Tensor, b: Tensor) => Tensor[])(t(x), t(w));
    jit((a: Tensor) => [sum(a, [1]), max(a, [1])])(t(operand([3, 1000], 15)));
    await nb.flush();
    const sources = [...nb.pipelines.sources()];
    const f16 = sources.filter((s) => s.code.startsWith('enable f16;'));
    const sg = sources.filter((s) => s.code.startsWith('enable subgroups;'));
    expect(f16.length).toBeGreaterThanOrEqual(4); // matmul, conv, input and weight gradients
    expect(sg.length).toBe(nb.shaderFeatures.subgroups ? 2 : 0);
    for (const { code, what } of sources) {
      const messages = await compilationMessages(nb.device, code);
      expect(messages.map((m) => `${what}: ${m.type} ${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
    }
    await nb.flush();
    nb.destroy();
    ranOnDevice();
  });
});
