// C-like statements: `const T v = ...;` locals, `if (c) {` branches, and index arithmetic on
// a signed integer type (int64 `long long` with the LL suffix, or 32-bit `int` where the
// renderer has proved every intermediate value fits). Conditions are the same integers 0/1.
import type { DType } from '../../../dtype.js';
import type { Syntax } from '../syntax.js';
import type { CLikeSpec } from './spec.js';

/**
 * The C-like syntax of `spec` declaring values with the element types `types` (a dialect's);
 * `wide` selects 64-bit index literals.
 */
export function cSyntax(spec: CLikeSpec, types: Readonly<Record<DType, string>>, wide = true): Syntax {
  const ll = wide ? 'LL' : '';
  const u = (x: string) => `(${spec.u32})${x}`;
  return {
    who: spec.who,
    index: {
      literal: (v) => (v < 0 ? `(${v}${ll})` : `${v}${ll}`),
      and: '&',
      or: '|',
      toInt: (c) => c,
      toCond: (i) => i,
    },
    type: (dtype) => types[dtype],
    define: (name, t, v) => `const ${t} ${name} = ${v};`,
    declare: (name, t) => `${t} ${name};`,
    branch: (c) => `if (${c}) {`,
    // ?: evaluates only the chosen operand, so an invalid index is never dereferenced.
    guardedLoad: (name, t, c, at, fill) => [`const ${t} ${name} = (${c}) ? ${at} : ${fill};`],
    threefry: (k0, k1, stream, ctr) => `rg_threefry0(${u(k0)}, ${u(k1)}, ${stream}u, ${u(`(${ctr})`)})`,
  };
}
