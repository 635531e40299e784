// The shared base of the backends' kernel renderers: an expression walker over the IR's
// scalar expressions (Scope), an index-expression printer, and the Dialect / Syntax
// interfaces each target implements. clike/ holds what C and CUDA C share beyond that.
export type { Dialect } from './dialect.js';
export { aluFromRules, COMPARE_SYMBOL, type AluEntry, type AluRules, type AluTable, type CompareOp } from './alu.js';
export type { IndexSyntax, Syntax } from './syntax.js';
export { indexPrinter, type IndexPrinter } from './idx.js';
export { ExprKeys } from './key.js';
export { exprOperands, idxOperands, indexExprs, ownIndices } from './walk.js';
export { indent, Scope, type ExprContext } from './scope.js';
export * from './clike/index.js';
