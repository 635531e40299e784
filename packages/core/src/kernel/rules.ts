import type { PrimName } from '../primitives/types.js';
import type { AluOp, LibraryOp } from './ir.js';
import { type MovementName, type ViewRule, views } from './views.js';

/**
 * How one primitive enters a kernel:
 * - `alu`: an ALU node over its operands (elementwise primitives);
 * - `identity`: its operand (stopGradient has no effect on values);
 * - `view`: index expressions on its input (movement primitives);
 * - `reduce`: the reduction of a fused kernel;
 * - `library`: a library kernel of the same name;
 * - `iota` / `randomBits`: values made from the index alone.
 */
export type KernelRule<P extends PrimName> =
  | { readonly kind: 'alu'; readonly op: AluOp }
  | { readonly kind: 'identity' }
  | { readonly kind: 'view'; readonly view: P extends MovementName ? ViewRule<P> : never }
  | { readonly kind: 'reduce'; readonly op: 'sum' | 'max' }
  | { readonly kind: 'library'; readonly op: P & LibraryOp }
  | { readonly kind: 'iota' }
  | { readonly kind: 'randomBits' };

const alu = <O extends AluOp>(op: O) => ({ kind: 'alu', op }) as const;

/**
 * The kernel rule of every primitive. The type is exhaustive over `PrimName`, so adding a
 * primitive makes the compiler ask how it enters a kernel; `kernel-rules.test.ts` checks that
 * each rule agrees with the primitive's `kind`.
 */
export const kernelRules: { readonly [P in PrimName]: KernelRule<P> } = {
  neg: alu('neg'),
  exp: alu('exp'),
  log: alu('log'),
  sqrt: alu('sqrt'),
  rsqrt: alu('rsqrt'),
  recip: alu('recip'),
  sin: alu('sin'),
  cos: alu('cos'),
  tanh: alu('tanh'),
  abs: alu('abs'),
  sign: alu('sign'),
  cast: alu('cast'),
  stopGradient: { kind: 'identity' },
  bitsToFloat: alu('bitsToFloat'),
  add: alu('add'),
  sub: alu('sub'),
  mul: alu('mul'),
  div: alu('div'),
  max: alu('max'),
  min: alu('min'),
  pow: alu('pow'),
  eq: alu('eq'),
  ne: alu('ne'),
  lt: alu('lt'),
  le: alu('le'),
  gt: alu('gt'),
  ge: alu('ge'),
  where: alu('where'),
  sum: { kind: 'reduce', op: 'sum' },
  reduceMax: { kind: 'reduce', op: 'max' },
  reshape: { kind: 'view', view: views.reshape },
  broadcast: { kind: 'view', view: views.broadcast },
  transpose: { kind: 'view', view: views.transpose },
  slice: { kind: 'view', view: views.slice },
  pad: { kind: 'view', view: views.pad },
  concat: { kind: 'view', view: views.concat },
  dot: { kind: 'library', op: 'dot' },
  conv2d: { kind: 'library', op: 'conv2d' },
  conv2dInputGrad: { kind: 'library', op: 'conv2dInputGrad' },
  conv2dWeightGrad: { kind: 'library', op: 'conv2dWeightGrad' },
  iota: { kind: 'iota' },
  randomBits: { kind: 'randomBits' },
};
