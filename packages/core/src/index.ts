// @resgrad/core: tensors, traced IR, reverse-mode AD, jit, the backend interface and the
// reference backend.
export { Tensor, type NestedArray } from './tensor.js';
export type { DType, TypedArray } from './dtype.js';
export { ResgradError } from './errors.js';
export { Graph, Var, type Aval, type Eqn } from './graph.js';
export { primitives } from './primitives/index.js';
export type { PrimName, Params, PrimitiveDef, ConvParams, RefArray, PrimKind } from './primitives/index.js';
export type { Backend, BackendProvider, DeviceBuffer, Executable } from './backend/interface.js';
export { availableBackends, defaultBackend, getBackend, registerBackend, setDefaultBackend } from './backend/registry.js';
export { referenceBackend } from './backend/reference.js';
export { evalGraphOracle } from './backend/oracle.js';
export {
  schedule, compileProgram, interpret, Program, formatProgram, kernelToString, exprToString, idxToString, simplifyIdx, rangeOf,
  ALU_ARITY, kernelRules, views,
  type ScheduleOptions, type CompiledProgram, type InterpretHooks, type AluOp, type BufferInfo, type BufferRole, type Expr,
  type FusedKernel, type Idx, type Kernel, type LibraryKernel, type LibraryOp, type LibraryParams, type Reduction, type Slot,
  type View, type ViewSource, type ViewRule, type MovementName, type KernelRule,
} from './kernel/index.js';
export {
  Scope, ExprKeys, indexPrinter, indexExprs, exprOperands, idxOperands, ownIndices, indent, aluFromRules, COMPARE_SYMBOL,
  cDialect, cSyntax, cTypes, cAccumulator, cRoundAcc, cArithHelpers, cIndexHelpers, cMinMaxHelpers,
  type Dialect, type Syntax, type IndexSyntax, type IndexPrinter, type ExprContext, type AluRules, type AluEntry, type AluTable,
  type CompareOp, type CLikeSpec, type CDialect, type CAccumulator, type CLikeHelperOptions,
} from './kernel/render/index.js';
export { bind, evalGraph, isTracing } from './trace.js';
export * from './ops/creation.js';
export {
  add, sub, mul, div, pow, maximum, minimum, equal, notEqual, less, lessEqual, greater, greaterEqual,
  neg, abs, sign, exp, log, sqrt, rsqrt, reciprocal, sin, cos, tanh, square, sigmoid, relu, softplus,
  where, cast, stopGradient, type TensorLike,
} from './ops/elementwise.js';
export { sum, mean, variance, max, min, argmax, type ReduceOptions } from './ops/reduce.js';
export { reshape, flatten, transpose, broadcastTo, expandDims, squeeze, slice, pad, concat, stack } from './ops/movement.js';
export {
  matmul, logSumExp, logSoftmax, softmax, oneHot, crossEntropy, conv2d, maxPool2d, avgPool2d, globalAvgPool,
  type Conv2dOptions, type Pool2dOptions, type CrossEntropyOptions,
} from './ops/nn.js';
export { grad, valueAndGrad, vjp, jvp, type GradOptions } from './transforms/ad.js';
export { jit, makeGraph, evalShape, traceGraph, type JitOptions, type Jitted } from './transforms/jit.js';
export { optimizeGraph } from './transforms/optimize.js';
export { treeFlatten, treeUnflatten, treeMap, treePaths, type Tree, type TreeDef } from './tree.js';
export * as random from './random/index.js';
export { threefry2x32 } from './random/threefry.js';
