/* The resgrad CPU runtime: one translation unit, one shared object, loaded once per
 * process. Generated kernels (later) are separate objects that reach the pool through
 * rg_runtime_table(). Order matters: pool.c defines _GNU_SOURCE before any system header. */
#include "pool.c"
#include "gemm.c"
#include "conv.c"
#include "peak.c"

/* ---- the table generated kernels link against ----
 * Kernel objects compiled later (the fused-kernel renderer) are separate .so files; rather
 * than linking them against this one by path, the loader hands each the address of this
 * table through its `rg_bind_runtime`, and they call the pool and the library kernels (those
 * with a generated epilogue) through it. rg_table.h declares it for both sides: the generated
 * prelude embeds that file's text. */
#include "rg_table.h"

static const rg_runtime runtime_table = {
    2,
    rg_parallel_for,
    rg_pool_threads,
    rg_scratch,
    conv2d_ep_f32,
    conv2d_input_grad_ep_f32,
    rg_conv2d_weight_grad_f32,
    conv2d_ep_f64,
    conv2d_input_grad_ep_f64,
    rg_conv2d_weight_grad_f64,
    rg_sgemm,
    rg_dgemm,
};

RG_EXPORT const void *rg_runtime_table(void) { return &runtime_table; }
