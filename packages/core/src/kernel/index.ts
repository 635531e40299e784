// The shared kernel representation, the scheduler that produces it and its interpreter.
export type {
  AluOp, BufferInfo, BufferRole, Expr, FusedKernel, Idx, Kernel, LibraryKernel, LibraryOp, LibraryParams, Reduction, Slot,
} from './ir.js';
export { ALU_ARITY, Program } from './ir.js';
export { schedule, type ScheduleOptions } from './schedule.js';
export { compileProgram, interpret, type CompiledProgram, type InterpretHooks } from './interpret.js';
export { exprToString, formatProgram, kernelToString } from './print.js';
export { idxToString, rangeOf, simplifyIdx } from './idx.js';
export { views, type View, type ViewSource, type ViewRule, type MovementName } from './views.js';
export { kernelRules, type KernelRule } from './rules.js';
