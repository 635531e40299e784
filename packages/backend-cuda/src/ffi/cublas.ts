// koffi bindings of cuBLAS (v2 API): SGEMM/DGEMM, plain and strided batched, on a stream.
// cuBLAS is column-major; our arrays are row-major, so C = A B (row-major) is computed as
// C^T = B^T A^T (column-major), i.e. gemm(N, N, n, m, k, B, A) with no transposes copied.
// Device pointers are passed as uint64_t (same register class as a pointer on x86-64/aarch64).
import koffi from 'koffi';
import { findCublas, listSearched } from '../discover.js';
import { CUBLAS_STATUS, CudaError } from '../errors.js';
import type { DevicePtr, Handle } from './driver.js';

type Fn = (...args: any[]) => any;

const GEMM_ARGS = 'void *h, int ta, int tb, int m, int n, int k';
const PROTOTYPES = {
  cublasCreate_v2: 'int cublasCreate_v2(_Out_ void **handle)',
  cublasDestroy_v2: 'int cublasDestroy_v2(void *handle)',
  cublasSetStream_v2: 'int cublasSetStream_v2(void *handle, void *stream)',
  cublasSetMathMode: 'int cublasSetMathMode(void *handle, int mode)',
  cublasSgemm_v2: `int cublasSgemm_v2(${GEMM_ARGS}, const float *alpha, uint64_t A, int lda, uint64_t B, int ldb, const float *beta, uint64_t C, int ldc)`,
  cublasSgemmStridedBatched: `int cublasSgemmStridedBatched(${GEMM_ARGS}, const float *alpha, uint64_t A, int lda, int64_t sA, uint64_t B, int ldb, int64_t sB, const float *beta, uint64_t C, int ldc, int64_t sC, int batch)`,
  cublasDgemmStridedBatched: `int cublasDgemmStridedBatched(${GEMM_ARGS}, const double *alpha, uint64_t A, int lda, int64_t sA, uint64_t B, int ldb, int64_t sB, const double *beta, uint64_t C, int ldc, int64_t sC, int batch)`,
} as const;

type CublasFns = { readonly [K in keyof typeof PROTOTYPES]: Fn };

/** CUBLAS_OP_N. */
const OP_N = 0;
/** cublasMath_t: CUBLAS_DEFAULT_MATH (full fp32) and CUBLAS_TF32_TENSOR_OP_MATH. */
export const CUBLAS_DEFAULT_MATH = 0;
export const CUBLAS_TF32_TENSOR_OP_MATH = 3;

const keep: unknown[] = [];
const ONE_F = new Float32Array([1]);
const ZERO_F = new Float32Array([0]);
const ONE_D = new Float64Array([1]);
const ZERO_D = new Float64Array([0]);

/** A row-major batched product C[b] = A[b] B[b] with A [M, K], B [K, N], C [M, N]. */
export interface GemmCall {
  readonly dtype: 'float32' | 'float64';
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a: DevicePtr;
  readonly b: DevicePtr;
  readonly c: DevicePtr;
}

/** A cuBLAS handle bound to one stream at a time. */
export class Cublas {
  private constructor(
    readonly path: string,
    private readonly fns: CublasFns,
    private readonly handle: Handle,
  ) {}

  /** Loads cuBLAS (cuBLASLt first, by path) and creates a handle; needs a current context. */
  static load(): Cublas | { unavailable: string } {
    const found = findCublas();
    if (!found.path) return { unavailable: `no cuBLAS: libcublas.so not found (searched ${listSearched(found.searched)})` };
    try {
      if (found.lt) keep.push(koffi.load(found.lt));
      const lib = koffi.load(found.path);
      keep.push(lib);
      const fns: Record<string, Fn> = {};
      for (const [name, proto] of Object.entries(PROTOTYPES)) fns[name] = lib.func(proto);
      const h: unknown[] = [null];
      const code = fns.cublasCreate_v2!(h) as number;
      if (code !== 0) return { unavailable: `cublasCreate failed with ${CUBLAS_STATUS[code] ?? code}` };
      const cublas = new Cublas(found.path, fns as CublasFns, BigInt(h[0] as bigint));
      // Full fp32 by default (the reference is exact); TF32 is opt-in.
      cublas.check('cublasSetMathMode', fns.cublasSetMathMode!(cublas.handle, process.env.RESGRAD_CUDA_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH) as number);
      return cublas;
    } catch (e) {
      return { unavailable: `cuBLAS at ${found.path} failed to load: ${(e as Error).message.split('\n')[0]}` };
    }
  }

  private check(call: string, code: number): void {
    if (code === 0) return;
    const name = CUBLAS_STATUS[code] ?? `cublasStatus ${code}`;
    throw new CudaError('cublas', call, code, name, name);
  }

  /** Enqueues C = A B (row-major, batched) on `stream`. */
  gemm(g: GemmCall, stream: Handle): void {
    this.check('cublasSetStream_v2', this.fns.cublasSetStream_v2(this.handle, stream) as number);
    const [one, zero, fn] =
      g.dtype === 'float32' ? ([ONE_F, ZERO_F, 'cublasSgemmStridedBatched'] as const) : ([ONE_D, ZERO_D, 'cublasDgemmStridedBatched'] as const);
    // Column-major view: C^T [N, M] = B^T [N, K] * A^T [K, M].
    const code = this.fns[fn](
      this.handle, OP_N, OP_N, g.n, g.m, g.k,
      one, g.b, g.n, g.k * g.n, g.a, g.k, g.m * g.k,
      zero, g.c, g.n, g.m * g.n, g.batch,
    ) as number;
    this.check(fn, code);
  }

  destroy(): void {
    this.fns.cublasDestroy_v2(this.handle);
  }
}
