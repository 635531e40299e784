// The helpers every generated C translation unit starts with: fixed-width types from compiler
// macros (no #include), the scalar functions whose JS semantics need more than one C
// operator (core's C-like helpers), and the binding to the runtime's thread pool.
import { cArithHelpers, cIndexHelpers, cMinMaxHelpers, type CLikeHelperOptions } from '@resgrad/core';
import { kernelSource } from '../csource.js';
import { C_SPEC } from './spec.js';

const HELPERS: CLikeHelperOptions = { qualifier: 'RG_INLINE', indexTypes: [C_SPEC.i64], unroll: false };

const TYPES = String.raw`typedef __INT32_TYPE__ int32_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __UINT8_TYPE__ uint8_t;
#define RG_EXPORT __attribute__((visibility("default")))
#define RG_INLINE static inline __attribute__((always_inline))

`;

const RUNTIME = String.raw`/* The runtime's thread pool and library kernels, reached through the table
 * rg_runtime_table() returns (kernels/rg_table.h, embedded below; see kernels/runtime.c);
 * bound once per loaded object by rg_bind_runtime. */
typedef void (*rg_task_fn)(void *ctx, int64_t begin, int64_t end, int tid);
${kernelSource(['rg_table.h'])}
static const rg_runtime *rg_rt;
RG_EXPORT void rg_bind_runtime(const void *table) { rg_rt = (const rg_runtime *)table; }
/* Runs fn over [0, n) on the pool when the work is worth a region, else on this thread. */
RG_INLINE void rg_run(int64_t n, int64_t work, rg_task_fn fn, void *ctx) {
  if (rg_rt && work >= RG_PARALLEL_WORK) rg_rt->parallel_for(n, fn, ctx);
  else fn(ctx, 0, n, 0);
}
`;

/**
 * Helpers every kernel source starts with: fixed-width types from compiler macros, and
 * the scalar functions whose JS semantics need more than one C operator.
 */
export const C_PRELUDE = `${TYPES}${cArithHelpers(C_SPEC, HELPERS)}${cMinMaxHelpers(C_SPEC, HELPERS, ['float64', 'float32'])}${cIndexHelpers(C_SPEC, HELPERS)}\n${RUNTIME}`;
