/* conv2d kernels for float32 (on the tuned SGEMM) and float64 (on the portable DGEMM).
 * Part of the runtime translation unit (runtime.c), after gemm.c. */
#include "rg_common.h"

#include <stdlib.h>
#include <string.h>

#include "conv_geom.h"
#include "conv_direct.h"

#define T float
#ifdef RG_HAVE_DIRECT3
#define DIRECT3 1
#else
#define DIRECT3 0
#endif
#define SFX _f32
#define GEMM_SERIAL sgemm_serial
#define GEMM_BATCHED rg_sgemm
#include "conv_impl.h"
#undef T
#undef SFX
#undef GEMM_SERIAL
#undef GEMM_BATCHED
#undef DIRECT3

#define DIRECT3 0
#define T double
#define SFX _f64
#define GEMM_SERIAL dgemm_serial
#define GEMM_BATCHED rg_dgemm
#include "conv_impl.h"
#undef T
#undef SFX
#undef GEMM_SERIAL
#undef GEMM_BATCHED
#undef DIRECT3
