/* The resgrad CPU runtime: one translation unit, one shared object, loaded once per
 * process. Generated kernels (later) are separate objects that reach the pool through
 * rg_runtime_table(). Order matters: pool.c defines _GNU_SOURCE before any system header. */
#include "pool.c"
#include "gemm.c"
#include "conv.c"
#include "peak.c"
