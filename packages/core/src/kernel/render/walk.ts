// Walking expression trees: the operands of each scalar node, the index expressions it reads,
// and the integer operands of each index node. Renderers inspect every index of a kernel before printing it: to choose 32- or
// 64-bit index arithmetic (CUDA), or to merge loops that every index reads as one run (C).
import type { Expr, Idx } from '../ir.js';

/** The scalar operands of a node, in the order they are evaluated. */
export function exprOperands(e: Expr): readonly Expr[] {
  switch (e.op) {
    case 'alu':
      return e.args;
    case 'select':
      return [e.then, e.else];
    case 'threefry':
      return e.key;
    default:
      return [];
  }
}

/** The index expressions a node reads itself (not those of its operands). */
export function ownIndices(e: Expr): readonly Idx[] {
  switch (e.op) {
    case 'load':
      return e.valid ? [e.index, e.valid] : [e.index];
    case 'index':
      return [e.index];
    case 'select':
      return [e.cond];
    case 'threefry':
      return [e.counter];
    default:
      return [];
  }
}

/**
 * Every index expression of a tree (load indices and validity, iota, select conditions,
 * counters), appended to `out`.
 */
export function indexExprs(e: Expr, out: Idx[] = []): Idx[] {
  out.push(...ownIndices(e));
  for (const x of exprOperands(e)) indexExprs(x, out);
  return out;
}

/** The integer operands of an index node (a div or mod divisor is a number, not an operand). */
export function idxOperands(e: Idx): readonly Idx[] {
  switch (e.op) {
    case 'axis':
    case 'const':
      return [];
    case 'div':
    case 'mod':
      return [e.a];
    default:
      return [e.a, e.b];
  }
}
