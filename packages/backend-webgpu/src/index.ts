// @resgrad/backend-webgpu: kernels rendered to WGSL, run through navigator.gpu (browsers) or
// Dawn (the `webgpu` npm package, Node).
//
// Importing this package registers the 'webgpu' backend with a priority below the cpu
// backend's (the CPU stays the default wherever a C compiler works). WebGPU devices can only
// be acquired asynchronously while the registry loads backends synchronously, so the backend
// becomes available after `await initWebGPU()`; until then, and when no adapter is found,
// the registry reports it unavailable with the reason.
import { registerBackend, type Backend } from '@resgrad/core';
import { WebGPUBackend, type WebGPUBackendOptions } from './backend.js';
import { acquireDevice, type AcquireOptions } from './device.js';

export { WebGPUBackend, type WebGPUBuffer, type WebGPUExecutable, type DeviceLimits, type WebGPUBackendOptions } from './backend.js';
export { acquireDevice, describeAdapter, OPTIONAL_FEATURES, type AcquiredDevice, type AcquireOptions } from './device.js';
export { decideFeatures, decideLibraryEpilogues, EPILOGUES_ENV, MATMUL_PRECISION_ENV, subgroupsAvailable, type FeatureDecision, type FeatureRequest, type FeatureSupport, type MatmulPrecision } from './features.js';
export { PipelineCache, WebGPUKernelError, compilationMessages, hashWgsl } from './pipelines.js';
export { BufferPool, roundBytes, type PoolStats } from './pool.js';
export { renderFused, useWorkgroupReduction, type FusedRenderOptions, type RenderedShader, type RenderLimits } from './wgsl/fused.js';
export { renderLibrary } from './wgsl/library.js';
export { EPILOGUE_FN, epiloguePlacement, renderEpilogue, splitEpilogue, webgpuLibraryEpilogue, type EpilogueCode } from './wgsl/epilogue.js';
export { BASELINE_SHADER_FEATURES, type GemmTileFormat, type ShaderFeatures } from './wgsl/features.js';
export { layoutBindings, type BindingLayout, type ArgSlot } from './wgsl/bindings.js';
export { WGSL_DIALECT, WGSL_TYPE, alu as wgslAlu, literal as wgslLiteral, type WgslDType } from './wgsl/dialect.js';
export { WGSL_PRELUDE } from './wgsl/prelude.js';

/** Priority of the webgpu provider: above the reference backend's 0, below the cpu backend's 10. */
export const WEBGPU_PRIORITY = 5;

let state: Backend | { unavailable: string } = {
  unavailable: 'not initialised: WebGPU devices are acquired asynchronously; call `await initWebGPU()` from @resgrad/backend-webgpu first',
};
let pending: Promise<WebGPUBackend | { unavailable: string }> | null = null;

function register(): void {
  registerBackend({ name: 'webgpu', priority: WEBGPU_PRIORITY, load: () => state });
}
register();

/** Options of {@link initWebGPU}: the device's, and the backend's shader and scheduling choices. */
export type InitOptions = AcquireOptions & Pick<WebGPUBackendOptions, 'subgroups' | 'matmulPrecision' | 'libraryEpilogues'>;

/**
 * Acquires a WebGPU device (once; later calls return the same result) and makes the 'webgpu'
 * backend available to the registry, or records why it is not (the reason names what is
 * missing: no navigator.gpu, no `webgpu` package, no adapter). The promise rejects when an
 * option cannot be met (`matmulPrecision: 'f16'` on a device without 'shader-f16').
 *
 * @example
 * ```ts
 * import { initWebGPU } from '@resgrad/backend-webgpu';
 * const gpu = await initWebGPU();
 * if (!('unavailable' in gpu)) setDefaultBackend('webgpu');
 * const y = await matmul(x, w).dataAsync(); // WebGPU has no synchronous readback
 * ```
 */
export function initWebGPU(opts: InitOptions = {}): Promise<WebGPUBackend | { unavailable: string }> {
  pending ??= acquireDevice(opts).then((r) => {
    const result = 'unavailable' in r ? r : new WebGPUBackend(r, { subgroups: opts.subgroups, matmulPrecision: opts.matmulPrecision, libraryEpilogues: opts.libraryEpilogues });
    state = result;
    register();
    return result;
  });
  return pending;
}

/** The initialised backend, or null before `initWebGPU` succeeded. */
export function webgpuBackend(): WebGPUBackend | null {
  return state instanceof WebGPUBackend ? state : null;
}
