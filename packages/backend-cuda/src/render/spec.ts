// How CUDA C spells what differs between C-like targets (see core's kernel/render/clike):
// no #include (NVRTC runs without the toolkit's headers), so CUDA's overloaded device math
// functions, our own fixed-width typedefs (prelude.ts), and NaN/infinities from bit patterns.
import type { CLikeSpec } from '@resgrad/core';

/** How CUDA C spells what differs between C-like targets. */
export const CUDA_SPEC: CLikeSpec = {
  who: '@resgrad/backend-cuda',
  i32: 'rg_i32', u32: 'rg_u32', i64: 'rg_i64', u64: 'rg_u64', u8: 'rg_u8',
  math: (fn) => fn,
  nonFinite: (v, f32) => {
    if (Number.isNaN(v)) return f32 ? '__int_as_float(0x7fc00000)' : '__longlong_as_double(0x7ff8000000000000LL)';
    if (v > 0) return f32 ? '__int_as_float(0x7f800000)' : '__longlong_as_double(0x7ff0000000000000LL)';
    return f32 ? '__int_as_float((int)0xff800000u)' : '__longlong_as_double((long long)0xfff0000000000000ULL)';
  },
  // rg_max / rg_min are overloaded on float and double in the prelude.
  minMax: (op) => `rg_${op}`,
  // the sign bit is the integer sign of the bit pattern
  signbit: (x, t) => (t === 'float32' ? `__float_as_int(${x}) < 0` : `__double_as_longlong(${x}) < 0`),
  twoPowM24f: '5.9604644775390625e-08f',
  twoPowM32: '2.3283064365386962890625e-10',
  inf: 'RG_INF_D',
  // An integer sum stores modulo 256 as a Uint8Array does; a max is 0/1 or -inf (empty: 0).
  boolFromAcc: (acc, exact) => (exact ? `(rg_u8)(rg_u64)${acc}` : `(rg_u8)(${acc} > 0.0)`),
};
