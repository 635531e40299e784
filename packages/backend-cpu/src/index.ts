// @resgrad/backend-cpu: kernels rendered to C, compiled with the system C compiler, loaded
// with koffi. Importing this package registers the 'cpu' backend (priority above the
// reference backend, so it becomes the default wherever a C compiler works).
import { registerBackend, type Backend } from '@resgrad/core';
import { cpuBackend } from './backend.js';
import { CompileError } from './compile.js';
import { loadRuntime } from './runtime.js';
import { findCompiler } from './toolchain.js';

export { findCompiler, requireCompiler, defaultFlags, portableRequested, type Compiler } from './toolchain.js';
export { cacheDir, cacheKey, cpuSignature } from './cache.js';
export {
  compileSource, compileAndLoad, loadLibrary, CompileError,
  type CompileOptions, type CompiledObject, type LoadedLibrary, type Prototypes,
} from './compile.js';
export { kernelSource } from './csource.js';
export { loadRuntime, defaultThreads, runtimeSource, type Runtime, type RuntimeFns } from './runtime.js';
export { gemm, dot, conv2d, conv2dInputGrad, conv2dWeightGrad, type GemmArgs, type FloatArray } from './kernels.js';
export {
  cpuBackend, compileCpuProgram, kernelFlags, KernelCompileError, type CpuBuffer, type CpuExecutable, type CpuCompileOptions,
} from './backend.js';
export { cpuProfile, resetCpuProfile, kernelLabel, type ProfileRow } from './profile.js';
export { renderProgram, type RenderedProgram, type RenderOptions } from './render/program.js';
export { renderFused, PARALLEL_WORK, type RenderedKernel, type EpilogueEntry } from './render/kernel.js';
export { renderLibraryEpilogue, cpuLibraryEpilogue } from './render/library.js';
export { C_DIALECT, C_PRELUDE, literal as cLiteral, type Dialect } from './render/dialect.js';

/** Priority of the cpu provider: above the reference backend's 0. */
export const CPU_PRIORITY = 10;

/**
 * Loads the cpu backend: finds a C compiler and builds (or finds cached) the runtime;
 * otherwise says why it cannot run here.
 */
export function loadCpuBackend(): Backend | { unavailable: string } {
  const cc = findCompiler();
  if ('unavailable' in cc) return { unavailable: 'no C compiler: set CC or install gcc' };
  try {
    loadRuntime();
  } catch (e) {
    if (e instanceof CompileError) return { unavailable: `the native runtime failed to build:\n${e.compilerMessage}` };
    return { unavailable: `the native runtime failed to load: ${(e as Error).message}` };
  }
  return cpuBackend;
}

registerBackend({ name: 'cpu', priority: CPU_PRIORITY, load: loadCpuBackend });
