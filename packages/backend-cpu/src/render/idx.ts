// Idx -> C integer expressions over int64_t loop indices.
import { rangeOf, type Idx } from '@resgrad/core';

/**
 * Renders an index expression. `names(a)` is the C variable of axis `a`; `ext` the axis
 * extents (used to prove a dividend non-negative, so plain `/` and `%` serve; otherwise the
 * floor helpers of the prelude keep the IR's floor semantics). Comparisons give 0/1, and
 * `and`/`or` are bitwise on 0/1 (no branches, so loops stay vectorisable; index expressions
 * have no side effects and touch no memory, so evaluating both sides is safe).
 */
export function renderIdx(e: Idx, names: (axis: number) => string, ext: readonly number[]): string {
  const r = (x: Idx): string => {
    switch (x.op) {
      case 'axis':
        return names(x.axis);
      case 'const':
        return x.value < 0 ? `(${x.value}LL)` : `${x.value}LL`;
      case 'add':
        return `(${r(x.a)} + ${r(x.b)})`;
      case 'mul':
        return `(${r(x.a)} * ${r(x.b)})`;
      case 'div':
        return rangeOf(x.a, ext).lo >= 0 ? `(${r(x.a)} / ${x.b}LL)` : `rg_floordiv(${r(x.a)}, ${x.b}LL)`;
      case 'mod':
        return rangeOf(x.a, ext).lo >= 0 ? `(${r(x.a)} % ${x.b}LL)` : `rg_floormod(${r(x.a)}, ${x.b}LL)`;
      case 'lt':
        return `(${r(x.a)} < ${r(x.b)})`;
      case 'ge':
        return `(${r(x.a)} >= ${r(x.b)})`;
      case 'eq':
        return `(${r(x.a)} == ${r(x.b)})`;
      case 'and':
        return `(${r(x.a)} & ${r(x.b)})`;
      case 'or':
        return `(${r(x.a)} | ${r(x.b)})`;
    }
  };
  return r(e);
}
