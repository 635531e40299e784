// Idx -> WGSL. Index values are i32: a storage binding holds at most 2^32 bytes, so an element
// index of any buffer this backend binds fits, and index arithmetic in validity conditions
// stays within a few multiples of a buffer's size.
import { rangeOf, type Idx } from '@resgrad/core';

/**
 * Renders an index expression as an i32 (`renderIdx`) or as a WGSL bool (`renderCond`).
 * `names(a)` is the variable of axis `a`; `ext` the axis extents, used to prove a dividend
 * non-negative so that WGSL's truncating `/` and `%` serve (otherwise the floor helpers keep
 * the IR's floor semantics). Comparisons and `and`/`or` are conditions; where one appears in
 * integer context it becomes 0/1 (the IR's meaning), and an integer in condition context is
 * tested against 0.
 */
export function renderIdx(e: Idx, names: (axis: number) => string, ext: readonly number[]): string {
  const int = (x: Idx): string => {
    switch (x.op) {
      case 'axis':
        return names(x.axis);
      case 'const':
        return x.value === -2147483648 ? 'i32(-2147483647 - 1)' : x.value < 0 ? `(${x.value}i)` : `${x.value}i`;
      case 'add':
        return `(${int(x.a)} + ${int(x.b)})`;
      case 'mul':
        return `(${int(x.a)} * ${int(x.b)})`;
      case 'div':
        return rangeOf(x.a, ext).lo >= 0 ? `(${int(x.a)} / ${x.b}i)` : `rg_floordiv(${int(x.a)}, ${x.b}i)`;
      case 'mod':
        return rangeOf(x.a, ext).lo >= 0 ? `(${int(x.a)} % ${x.b}i)` : `rg_floormod(${int(x.a)}, ${x.b}i)`;
      default:
        return `select(0i, 1i, ${cond(x)})`;
    }
  };
  const cond = (x: Idx): string => {
    switch (x.op) {
      case 'lt':
        return `(${int(x.a)} < ${int(x.b)})`;
      case 'ge':
        return `(${int(x.a)} >= ${int(x.b)})`;
      case 'eq':
        return `(${int(x.a)} == ${int(x.b)})`;
      case 'and':
        return `(${cond(x.a)} && ${cond(x.b)})`;
      case 'or':
        return `(${cond(x.a)} || ${cond(x.b)})`;
      case 'const':
        return x.value ? 'true' : 'false';
      default:
        return `(${int(x)} != 0i)`;
    }
  };
  return int(e);
}

/** Renders an index expression used as a condition (validity, select) as a WGSL bool. */
export function renderCond(e: Idx, names: (axis: number) => string, ext: readonly number[]): string {
  // A condition is the integer rendering tested against zero, except at comparison roots,
  // rendered directly so no select(0, 1, ...) wraps them.
  switch (e.op) {
    case 'lt':
    case 'ge':
    case 'eq':
    case 'and':
    case 'or': {
      const sub = (x: Idx) => renderCond(x, names, ext);
      const int = (x: Idx) => renderIdx(x, names, ext);
      if (e.op === 'and') return `(${sub(e.a)} && ${sub(e.b)})`;
      if (e.op === 'or') return `(${sub(e.a)} || ${sub(e.b)})`;
      const op = e.op === 'lt' ? '<' : e.op === 'ge' ? '>=' : '==';
      return `(${int(e.a)} ${op} ${int(e.b)})`;
    }
    case 'const':
      return e.value ? 'true' : 'false';
    default:
      return `(${renderIdx(e, names, ext)} != 0i)`;
  }
}
