// The native runtime: one shared object with the thread pool and the library kernels
// (src/kernels/runtime.c), compiled and loaded once per process on first use.
import { availableParallelism } from 'node:os';
import { compileAndLoad, type CompileOptions, type CompiledObject } from './compile.js';
import { kernelSource } from './csource.js';

/** Pointers are typed arrays (koffi passes their memory directly, without copying). */
export interface RuntimeFns {
  rg_pool_init(threads: number, spinNs: number): void;
  rg_pool_threads(): number;
  rg_pool_sleepers(): number;
  rg_pool_started(): number;
  rg_pool_shutdown(): void;
  rg_pool_probe(n: number, out: BigInt64Array): void;
  rg_noop(): void;
  rg_empty_region(n: number): void;
  rg_gemm_select(which: number): string | null;
  rg_gemm_kernel_name(): string;
  rg_conv_select(which: number): number;
  rg_fma_peak(isa: number, iters: number, allThreads: number): number;
  rg_sgemm(
    batch: number, M: number, N: number, K: number,
    A: Float32Array, lda: number, sa: number, ta: number,
    B: Float32Array, ldb: number, sb: number, tb: number,
    C: Float32Array, ldc: number, sc: number, accumulate: number,
  ): void;
  rg_dgemm(
    batch: number, M: number, N: number, K: number,
    A: Float64Array, lda: number, sa: number, ta: number,
    B: Float64Array, ldb: number, sb: number, tb: number,
    C: Float64Array, ldc: number, sc: number, accumulate: number,
  ): void;
  rg_conv2d_f32(dims: Int32Array, x: Float32Array, w: Float32Array, y: Float32Array): void;
  rg_conv2d_input_grad_f32(dims: Int32Array, dy: Float32Array, w: Float32Array, dx: Float32Array): void;
  rg_conv2d_weight_grad_f32(dims: Int32Array, x: Float32Array, dy: Float32Array, dw: Float32Array): void;
  rg_conv2d_f64(dims: Int32Array, x: Float64Array, w: Float64Array, y: Float64Array): void;
  rg_conv2d_input_grad_f64(dims: Int32Array, dy: Float64Array, w: Float64Array, dx: Float64Array): void;
  rg_conv2d_weight_grad_f64(dims: Int32Array, x: Float64Array, dy: Float64Array, dw: Float64Array): void;
}

const GEMM_ARGS = (t: string) =>
  `int64_t batch, int64_t M, int64_t N, int64_t K, const ${t} *A, int64_t lda, int64_t sa, int ta, ` +
  `const ${t} *B, int64_t ldb, int64_t sb, int tb, ${t} *C, int64_t ldc, int64_t sc, int accumulate`;

const protos: { readonly [K in keyof RuntimeFns]: string } = {
  rg_pool_init: 'void rg_pool_init(int threads, int64_t spin_ns)',
  rg_pool_threads: 'int rg_pool_threads()',
  rg_pool_sleepers: 'int rg_pool_sleepers()',
  rg_pool_started: 'int rg_pool_started()',
  rg_pool_shutdown: 'void rg_pool_shutdown()',
  rg_pool_probe: 'void rg_pool_probe(int64_t n, int64_t *out)',
  rg_noop: 'void rg_noop()',
  rg_empty_region: 'void rg_empty_region(int64_t n)',
  rg_gemm_select: 'const char *rg_gemm_select(int which)',
  rg_gemm_kernel_name: 'const char *rg_gemm_kernel_name()',
  rg_conv_select: 'int rg_conv_select(int which)',
  rg_fma_peak: 'double rg_fma_peak(int isa, int64_t iters, int all_threads)',
  rg_sgemm: `void rg_sgemm(${GEMM_ARGS('float')})`,
  rg_dgemm: `void rg_dgemm(${GEMM_ARGS('double')})`,
  rg_conv2d_f32: 'void rg_conv2d_f32(const int32_t *dims, const float *x, const float *w, float *y)',
  rg_conv2d_input_grad_f32: 'void rg_conv2d_input_grad_f32(const int32_t *dims, const float *dy, const float *w, float *dx)',
  rg_conv2d_weight_grad_f32: 'void rg_conv2d_weight_grad_f32(const int32_t *dims, const float *x, const float *dy, float *dw)',
  rg_conv2d_f64: 'void rg_conv2d_f64(const int32_t *dims, const double *x, const double *w, double *y)',
  rg_conv2d_input_grad_f64: 'void rg_conv2d_input_grad_f64(const int32_t *dims, const double *dy, const double *w, double *dx)',
  rg_conv2d_weight_grad_f64: 'void rg_conv2d_weight_grad_f64(const int32_t *dims, const double *x, const double *dy, double *dw)',
};

export interface Runtime {
  readonly fns: RuntimeFns;
  readonly object: CompiledObject;
  /** Threads per parallel region (workers + the calling thread). */
  readonly threads: number;
}

let runtime: Runtime | undefined;

/** Threads from RESGRAD_NUM_THREADS, else the number of CPUs this process may use. */
export function defaultThreads(): number {
  const env = process.env.RESGRAD_NUM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`RESGRAD_NUM_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  return availableParallelism();
}

/** How long idle workers spin before sleeping: RESGRAD_SPIN_US, default 2000 us. */
function spinNs(): number {
  const us = Number(process.env.RESGRAD_SPIN_US ?? 2000);
  return Number.isFinite(us) && us >= 0 ? Math.round(us * 1000) : 2_000_000;
}

/** The runtime source (for tests and for `cc -fsyntax-only` checks). */
export const runtimeSource = (): string => kernelSource(['runtime.c']);

/** Compiles (or finds in the cache) and loads the runtime; starts nothing until a region runs. */
export function loadRuntime(opts: CompileOptions = {}): Runtime {
  if (runtime) return runtime;
  const lib = compileAndLoad<RuntimeFns>(runtimeSource(), protos, { name: 'runtime', ...opts });
  const fns = lib.fns;
  const threads = defaultThreads();
  fns.rg_pool_init(threads, spinNs());
  // Join the workers before Node tears down (the library destructor would do it too, at
  // exit(); doing it here first keeps teardown independent of destructor order).
  process.once('exit', () => fns.rg_pool_shutdown());
  runtime = { fns, object: lib.object, threads: fns.rg_pool_threads() };
  return runtime;
}
