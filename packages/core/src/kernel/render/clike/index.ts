// The C-like base of the CPU (C) and CUDA (CUDA C) renderers.
export { cTypes, type CLikeSpec } from './spec.js';
export { cDialect, type CDialect } from './dialect.js';
export { cSyntax } from './syntax.js';
export { cAccumulator, cRoundAcc, type CAccumulator } from './reduce.js';
export { cArithHelpers, cIndexHelpers, cMinMaxHelpers, type CLikeHelperOptions } from './helpers.js';
