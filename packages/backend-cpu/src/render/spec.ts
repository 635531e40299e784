// How the CPU backend's C spells what differs between C-like targets (see core's
// kernel/render/clike): compiler builtins only, no #include, so the source compiles with any
// gcc or clang without system headers; types are the prelude's typedefs of compiler macros.
import type { CLikeSpec } from '@resgrad/core';

/** How the CPU backend's C spells what differs between C-like targets. */
export const C_SPEC: CLikeSpec = {
  who: '@resgrad/backend-cpu',
  i32: 'int32_t', u32: 'uint32_t', i64: 'int64_t', u64: 'uint64_t', u8: 'uint8_t',
  math: (fn) => `__builtin_${fn}`,
  nonFinite: (v, f32) => {
    const f = f32 ? 'f' : '';
    return Number.isNaN(v) ? `__builtin_nan${f}("")` : v > 0 ? `__builtin_inf${f}()` : `(-__builtin_inf${f}())`;
  },
  minMax: (op, t) => `rg_${op}${t === 'float32' ? 'f' : 'd'}`,
  signbit: (x) => `__builtin_signbit(${x})`,
  twoPowM24f: '0x1p-24f',
  twoPowM32: '0x1p-32',
  inf: '__builtin_inf()',
  // An int64 sum stores modulo 256 as a Uint8Array does; a max of 0/1 values converts exactly.
  boolFromAcc: (acc) => `(uint8_t)${acc}`,
};
