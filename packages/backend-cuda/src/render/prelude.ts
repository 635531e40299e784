// The helpers every generated CUDA translation unit starts with: our fixed-width types and
// the scalar functions whose JS semantics need more than one operator (core's C-like helpers,
// and the max reduction's fold). Only CUDA built-ins (intrinsics and the device math library
// NVRTC provides without headers) are used.
import { cArithHelpers, cIndexHelpers, cMinMaxHelpers, type CLikeHelperOptions } from '@resgrad/core';
import { CUDA_SPEC } from './spec.js';

// Floor helpers on both index widths (the renderer picks 32-bit `int` where values fit).
const HELPERS: CLikeHelperOptions = { qualifier: 'RG_D', indexTypes: [CUDA_SPEC.i64, 'int'], unroll: true };

const TYPES = String.raw`typedef int rg_i32;
typedef unsigned int rg_u32;
typedef long long rg_i64;
typedef unsigned long long rg_u64;
typedef unsigned char rg_u8;
#define RG_D __device__ __forceinline__
#define RG_INF_D __longlong_as_double(0x7ff0000000000000LL)

`;

const MAX_FOLD = String.raw`/* The max reduction's fold: keeps the first NaN it meets, as the reference does. */
RG_D double rg_maxacc(double acc, double x) { return (x > acc || x != x) ? x : acc; }
`;

/** The CUDA C prelude. */
export const CUDA_PRELUDE = `${TYPES}${cArithHelpers(CUDA_SPEC, HELPERS)}${cMinMaxHelpers(CUDA_SPEC, HELPERS, ['float32', 'float64'])}${MAX_FOLD}${cIndexHelpers(CUDA_SPEC, HELPERS)}`;
