// The CUDA C dialect: core's C-like dialect (kernel/render/clike: int32 wraps through
// unsigned, rg_idiv gives 0 for a zero divisor, rg_f2i casts like JS `| 0`, bool is a uint8
// 0/1, float32 transcendentals in double rounded once) spelled for NVRTC:
// - no #include (NVRTC runs without the toolkit's headers): CUDA's overloaded device math
//   functions (exp, sqrtf, ...) and our own fixed-width typedefs (rg_i32, ...), named so they
//   cannot clash with any header nvcc pre-includes;
// - NaN and infinities from bit patterns (__int_as_float), constants in decimal;
// - `fastMath`: CUDA's single-precision functions for float32 (within 2 ulp of the reference);
// - kernels are compiled with --fmad=false, so `a * b + c` rounds twice like the reference.
import { cDialect, cSyntax, cTypes, type CDialect, type DType, type Syntax } from '@resgrad/core';
import { CUDA_SPEC } from './spec.js';

/** A C-like dialect: what a renderer needs to print scalar code. */
export type Dialect = CDialect;

/** Element types: our own typedefs from the prelude. */
export const CUDA_TYPES: Readonly<Record<DType, string>> = cTypes(CUDA_SPEC);

/** Options of {@link cudaDialect}. */
export interface CudaDialectOptions {
  /** Single-precision math functions for float32 (faster, within 2 ulp of the reference). */
  readonly fastMath?: boolean;
}

/** The CUDA C dialect. */
export function cudaDialect(opts: CudaDialectOptions = {}): Dialect {
  return cDialect(CUDA_SPEC, !!opts.fastMath);
}

/** The default (exact) CUDA dialect. */
export const CUDA_DIALECT: Dialect = cudaDialect();

/** A CUDA C literal that parses to exactly `value` in `dtype`. */
export const literal = CUDA_DIALECT.literal;

/** The CUDA C statement syntax for kernels in dialect `d`; `wide`: 64-bit index arithmetic. */
export const cudaSyntax = (d: Dialect, wide: boolean): Syntax => cSyntax(CUDA_SPEC, d.type, wide);
