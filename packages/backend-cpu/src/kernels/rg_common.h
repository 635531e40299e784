/* Shared declarations of the resgrad CPU runtime: the thread pool that every kernel uses,
 * aligned allocation, and the export macro. Included (once) by every kernel file. */
#ifndef RG_COMMON_H
#define RG_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define RG_EXPORT __attribute__((visibility("default")))
#define RG_ALIGN 64 /* a cache line, and one AVX-512 vector */

/* A slice of a parallel loop: iterations [begin, end) run by participant `tid`
 * (0 <= tid < the region's thread count; unique within one region, 0 is the caller). */
typedef void (*rg_task_fn)(void *ctx, int64_t begin, int64_t end, int tid);

/* Runs fn over [0, n) split into one contiguous chunk per thread (static chunking), the
 * caller taking chunk 0, and returns when all chunks are done. Called from inside a region
 * (or while another thread owns the pool) it runs serially. */
RG_EXPORT void rg_parallel_for(int64_t n, rg_task_fn fn, void *ctx);
/* Threads a region uses (workers + the caller). */
RG_EXPORT int rg_pool_threads(void);

/* 64-byte aligned memory (for packing buffers and arenas); rg_free(NULL) is a no-op. */
RG_EXPORT void *rg_alloc(size_t bytes);
RG_EXPORT void rg_free(void *p);

/* Per-thread scratch that grows and is kept for the thread's life (our pool threads live as
 * long as the pool): kernels use it for packing and im2col buffers, so steady-state calls
 * allocate nothing. Slot 0..RG_SCRATCH_SLOTS-1 are independent buffers. */
#define RG_SCRATCH_SLOTS 4
RG_EXPORT void *rg_scratch(int slot, size_t bytes);

#define RG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define RG_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
