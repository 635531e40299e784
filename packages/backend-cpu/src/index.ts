// @resgrad/backend-cpu: kernels compiled with the system C compiler, loaded with koffi.
// So far: the compiler driver and its cache, the native runtime (thread pool, SGEMM,
// conv2d and its gradients) and typed-array entry points. The Backend class and the
// renderer of fused kernels come with core's kernel representation.
export { findCompiler, requireCompiler, defaultFlags, portableRequested, type Compiler } from './toolchain.js';
export { cacheDir, cacheKey, cpuSignature } from './cache.js';
export {
  compileSource, compileAndLoad, loadLibrary, CompileError,
  type CompileOptions, type CompiledObject, type LoadedLibrary, type Prototypes,
} from './compile.js';
export { kernelSource } from './csource.js';
export { loadRuntime, defaultThreads, runtimeSource, type Runtime, type RuntimeFns } from './runtime.js';
export { gemm, dot, conv2d, conv2dInputGrad, conv2dWeightGrad, type GemmArgs, type FloatArray } from './kernels.js';
