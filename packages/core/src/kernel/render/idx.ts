// Idx -> target index arithmetic and conditions, through a target's IndexSyntax.
//
// The IR's `div` and `mod` are floor division and its non-negative remainder by a positive
// constant; C and WGSL's `/` and `%` truncate toward zero. They agree when the dividend is
// non-negative, which range analysis over the axis extents proves almost everywhere (every
// index that reaches memory); elsewhere (validity conditions of padding, whose dividends may
// be negative) the prelude's rg_floordiv / rg_floormod helpers keep the floor semantics.
import { rangeOf } from '../idx.js';
import type { Idx } from '../ir.js';
import type { IndexSyntax } from './syntax.js';

/** Prints index expressions of one kernel as integers or as conditions. */
export interface IndexPrinter {
  int(e: Idx): string;
  cond(e: Idx): string;
}

const RELATION = { lt: '<', ge: '>=', eq: '==' } as const;

/**
 * An index printer for a kernel whose axis `a` is the variable `names(a)` ranging over
 * `[0, ext[a])`.
 */
export function indexPrinter(syn: IndexSyntax, names: (axis: number) => string, ext: readonly number[]): IndexPrinter {
  const int = (x: Idx): string => {
    switch (x.op) {
      case 'axis':
        return names(x.axis);
      case 'const':
        return syn.literal(x.value);
      case 'add':
        return `(${int(x.a)} + ${int(x.b)})`;
      case 'mul':
        return `(${int(x.a)} * ${int(x.b)})`;
      case 'div':
        return rangeOf(x.a, ext).lo >= 0 ? `(${int(x.a)} / ${syn.literal(x.b)})` : `rg_floordiv(${int(x.a)}, ${syn.literal(x.b)})`;
      case 'mod':
        return rangeOf(x.a, ext).lo >= 0 ? `(${int(x.a)} % ${syn.literal(x.b)})` : `rg_floormod(${int(x.a)}, ${syn.literal(x.b)})`;
      default:
        return syn.toInt(cond(x));
    }
  };
  const cond = (x: Idx): string => {
    switch (x.op) {
      case 'lt':
      case 'ge':
      case 'eq':
        return `(${int(x.a)} ${RELATION[x.op]} ${int(x.b)})`;
      case 'and':
        return `(${cond(x.a)} ${syn.and} ${cond(x.b)})`;
      case 'or':
        return `(${cond(x.a)} ${syn.or} ${cond(x.b)})`;
      case 'const':
        return syn.boolLiteral ? syn.boolLiteral(x.value) : syn.toCond(syn.literal(x.value));
      default:
        return syn.toCond(int(x));
    }
  };
  return { int, cond };
}
