// WGSL statements for core's expression walker: `let v: T = ...;` locals, `if c {` branches,
// and index arithmetic in i32. A storage binding holds at most 2^32 bytes, so an element index
// of any buffer this backend binds fits in i32, and index arithmetic in validity conditions
// stays within a few multiples of a buffer's size.
//
// WGSL has a real bool type: the IR's comparisons and `and`/`or` are printed as bool
// conditions, converted to 0/1 (select) where an integer is wanted, and an integer in
// condition context is tested against 0.
import type { Syntax } from '@resgrad/core';
import { wgslType } from './dialect.js';

export const WGSL_SYNTAX: Syntax = {
  who: '@resgrad/backend-webgpu',
  index: {
    // -2147483648 is not a valid i32 literal (2147483648 overflows before the negation).
    literal: (v) => (v === -2147483648 ? 'i32(-2147483647 - 1)' : v < 0 ? `(${v}i)` : `${v}i`),
    and: '&&',
    or: '||',
    toInt: (c) => `select(0i, 1i, ${c})`,
    toCond: (i) => `(${i} != 0i)`,
    boolLiteral: (v) => (v ? 'true' : 'false'),
  },
  type: wgslType,
  define: (name, t, v) => `let ${name}: ${t} = ${v};`,
  declare: (name, t) => `var ${name}: ${t};`,
  branch: (c) => `if ${c} {`,
  // Only where valid: an invalid index may point outside the buffer (or, in a packed binding,
  // into a neighbour), and WGSL has no lazy conditional expression.
  guardedLoad: (name, t, c, at, fill) => [`var ${name}: ${t} = ${fill};`, `if ${c} { ${name} = ${at}; }`],
  threefry: (k0, k1, stream, ctr) => `rg_threefry0(bitcast<u32>(${k0}), bitcast<u32>(${k1}), ${stream}u, bitcast<u32>(${ctr}))`,
};
