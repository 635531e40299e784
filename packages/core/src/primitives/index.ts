import * as elementwise from './elementwise.js';
import * as library from './library.js';
import * as movement from './movement.js';
import * as reduce from './reduce.js';
import * as source from './source.js';
import type { PrimitiveTable } from './types.js';

/**
 * Every primitive, by name. The type is exhaustive over `PrimName`: adding a primitive to
 * `Params` makes the compiler ask for its definition here.
 */
export const primitives: PrimitiveTable = {
  neg: elementwise.neg,
  exp: elementwise.exp,
  log: elementwise.log,
  sqrt: elementwise.sqrt,
  rsqrt: elementwise.rsqrt,
  recip: elementwise.recip,
  sin: elementwise.sin,
  cos: elementwise.cos,
  tanh: elementwise.tanh,
  abs: elementwise.abs,
  sign: elementwise.sign,
  cast: elementwise.cast,
  stopGradient: elementwise.stopGradient,
  bitsToFloat: elementwise.bitsToFloat,
  add: elementwise.add,
  sub: elementwise.sub,
  mul: elementwise.mul,
  div: elementwise.div,
  max: elementwise.max,
  min: elementwise.min,
  pow: elementwise.pow,
  eq: elementwise.eq,
  ne: elementwise.ne,
  lt: elementwise.lt,
  le: elementwise.le,
  gt: elementwise.gt,
  ge: elementwise.ge,
  where: elementwise.where,
  sum: reduce.sum,
  reduceMax: reduce.reduceMax,
  reshape: movement.reshape,
  broadcast: movement.broadcast,
  transpose: movement.transpose,
  slice: movement.slice,
  pad: movement.pad,
  concat: movement.concat,
  dot: library.dot,
  conv2d: library.conv2d,
  conv2dInputGrad: library.conv2dInputGrad,
  conv2dWeightGrad: library.conv2dWeightGrad,
  iota: source.iota,
  randomBits: source.randomBits,
};

export type { PrimName, Params, PrimitiveDef, ConvParams, RefArray, PrimKind } from './types.js';
