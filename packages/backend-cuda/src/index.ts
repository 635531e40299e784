// @resgrad/backend-cuda: kernels rendered to CUDA C, compiled with NVRTC, launched with the
// CUDA driver API, float GEMMs through cuBLAS; all bound with koffi. Importing this package
// registers the 'cuda' backend with a priority above the CPU backend's, so a machine with a
// GPU uses it by default; without one, availableBackends() says exactly what is missing.
import { registerBackend, type Backend } from '@resgrad/core';
import { CudaBackend, type CudaBackendOptions } from './backend.js';
import { Cublas } from './ffi/cublas.js';
import { Driver, loadDriverLibrary, openDevice } from './ffi/driver.js';
import { Nvrtc } from './ffi/nvrtc.js';

export { CudaBackend, CudaExecutable, type CudaBuffer, type CudaBackendOptions, type CudaRuntime } from './backend.js';
export { CachingAllocator, roundSize, type Block } from './allocator.js';
export { cudaCacheDir, moduleKey } from './cache.js';
export { CudaError, CudaOutOfMemoryError, CU_RESULT, NVRTC_RESULT, CUBLAS_STATUS, describeCuResult, formatBytes } from './errors.js';
export { findDriver, findNvrtc, findCublas, systemDirs, wheelDirs, pythonSitePackages, toolkitDirs, findIn, type Found } from './discover.js';
export { Driver, loadDriverLibrary, openDevice, type DeviceInfo, type DriverLibrary, type Handle, type DevicePtr } from './ffi/driver.js';
export { Nvrtc, chooseTarget, KERNEL_OPTIONS, type CompiledModule, type NvrtcCompileOptions } from './ffi/nvrtc.js';
export { Cublas, type GemmCall } from './ffi/cublas.js';
export { CUDA_DIALECT, CUDA_TYPES, cudaDialect, literal as cudaLiteral, type Dialect, type CudaDialectOptions } from './render/dialect.js';
export { CUDA_PRELUDE } from './render/prelude.js';
export { renderFusedCuda, chooseStrategy, BLOCK, type RenderedFused, type ReduceStrategy } from './render/kernel.js';
export { renderCudaProgram, type RenderedProgram, type KernelPlan, type CudaRenderOptions } from './render/program.js';
export { renderLibrary, dotDims, cudaLibraryEpilogue, type LibraryLaunch, type RenderedLibrary, type EpilogueContext } from './library/index.js';
export { storeEpilogue, storeLines, tiledStore, decodeAxes, type StoreEpilogue, type StoreSite } from './library/epilogue.js';
export {
  GraphRunner, graphPolicy, emptyGraphStats, GRAPH_MIN_LAUNCHES, type GraphPolicy, type GraphStats, type GraphDriver, type GraphRun,
} from './graph.js';
export { renderTiled, tileFor, type TiledSpec } from './library/tiled.js';

/** Priority of the cuda provider: above cpu (10) and reference (0). */
export const CUDA_PRIORITY = 20;

/**
 * Loads the cuda backend: the driver, device 0 (RESGRAD_CUDA_DEVICE picks another), NVRTC and,
 * when present, cuBLAS (without it dots use our tiled kernel). Returns the reason when any
 * required piece is missing.
 */
export function loadCudaBackend(opts: CudaBackendOptions = {}): Backend | { unavailable: string } {
  const lib = loadDriverLibrary();
  if ('unavailable' in lib) return lib;
  const driver = new Driver(lib);
  const dev = openDevice(driver, Number(process.env.RESGRAD_CUDA_DEVICE ?? 0));
  if ('unavailable' in dev) return dev;
  const nvrtc = Nvrtc.load();
  if ('unavailable' in nvrtc) return { unavailable: `${nvrtc.unavailable} (the driver and a ${dev.info.name} are present)` };
  const cublas = process.env.RESGRAD_CUDA_NO_CUBLAS ? null : Cublas.load();
  return new CudaBackend({ driver, device: dev.info, context: dev.context, nvrtc, cublas: cublas && !('unavailable' in cublas) ? cublas : null }, opts);
}

registerBackend({ name: 'cuda', priority: CUDA_PRIORITY, load: () => loadCudaBackend() });
