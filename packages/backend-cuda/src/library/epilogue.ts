// A library kernel's elementwise epilogue (core's LibraryKernel.epilogue) rendered into the
// place where the kernel stores an output element: instead of `out[at] = acc`, the element's
// axes are decoded from the tile coordinates, the epilogue expression is evaluated there with
// `reduced` = the op's value (already in the kernel's element type, so "rounded to dtype"),
// and its value is stored. Loads of the epilogue index `k.args` like a fused kernel's: the
// op's operands first (the library kernel's own parameters), then the buffers only the
// epilogue reads, which become extra kernel parameters `e2`, `e3`, ... (launch args 2, 3, ...).
//
// Why at the store: the result is still in a register there, so BN affine, ReLU, residual add,
// the ReLU-gradient mask or an SGD update cost one read of each extra operand and no second
// pass over the output (which the unfused schedule pays as a kernel of its own).
//
// Row values. A tiled kernel's thread stores a few rows (fixed m) of a few elements each. The
// costly parts of the epilogue that depend only on a row's axes (a BatchNorm's
// rsqrt(var + eps) * gamma per channel) are computed once per row into small arrays
// (`ep_row0[TM]`, ...; registers once unrolled) *before the product loop*, and the stores read
// them. Besides saving work, this keeps the double-precision division and square root (and
// other math) whose IEEE slow paths are subroutine calls away from the code where the 4 x 4
// accumulators are live: computed at the stores, ptxas spilled registers around those calls.
// Cheap invariant parts (a load of the scale, an add) stay at the store: held in registers
// through the product loop they only add pressure there (float64 kernels then spilled), and
// at the store the compiler shares them between the unrolled elements of a row anyway.
import {
  ExprKeys, exprOperands, indexExprs, idxOperands, ownIndices, Scope, type DType, type ExprContext, type Expr, type Idx, type LibraryKernel,
} from '@resgrad/core';
import { cudaSyntax, type Dialect } from '../render/dialect.js';
import { fitsInt32 } from '../render/idx.js';

/** One place in a kernel where output elements are stored through the epilogue. */
export interface StoreSite {
  /** Declarations of the row-value arrays, for `rows` rows per thread (nothing when there are none). */
  declareRows(rows: number): string[];
  /**
   * Statements computing element `i` of the row-value arrays, where the row axes (C
   * expressions given to `site`) hold and are in range.
   */
  computeRow(i: string): string[];
  /**
   * Statements evaluating the epilogue at the output point whose axes are the C expressions
   * `axes` (one per output dimension, outermost first) in row `i`, with the op's value
   * `reduced`; and the expression of the value to store.
   */
  apply(axes: readonly string[], reduced: string, i: string): { readonly lines: readonly string[]; readonly value: string };
}

/** How a library renderer applies the epilogue at its stores. */
export interface StoreEpilogue {
  /** Extra kernel parameters (C declarations), after the op's own. */
  readonly params: readonly string[];
  /** Launch args of the extra parameters: positions in the kernel's `args`. */
  readonly args: readonly number[];
  /** A store site whose axes `rowAxes` (axis -> C expression) are fixed for a row of stores. */
  site(rowAxes: ReadonlyMap<number, string>): StoreSite;
}

/** What rendering an epilogue needs beyond the kernel: its argument dtypes and the dialect. */
export interface EpilogueContext {
  /** Dtype of each buffer in `k.args` (program.buffers[id].dtype). */
  readonly argTypes: readonly DType[];
  readonly dialect: Dialect;
}

/** The output axes an index expression reads. */
function axesOf(e: Idx, out: Set<number>): Set<number> {
  if (e.op === 'axis') out.add(e.axis);
  for (const x of idxOperands(e)) axesOf(x, out);
  return out;
}

/** Whether `e` is the same at every point of a row: no `reduced`, and only row axes in its indices. */
function rowInvariant(e: Expr, row: ReadonlySet<number>): boolean {
  if (e.op === 'reduced') return false;
  const axes = new Set<number>();
  for (const i of ownIndices(e)) axesOf(i, axes);
  return [...axes].every((a) => row.has(a)) && exprOperands(e).every((x) => rowInvariant(x, row));
}

/**
 * The largest row-invariant subtrees of `e` (literals aside), excluding what lies inside a
 * `select` branch: a branch runs only where its condition holds, so its loads must not move
 * out of it (a whole invariant `select` moves, and the walker keeps its branches conditional).
 */
function hoistable(e: Expr, row: ReadonlySet<number>, out: Expr[] = []): Expr[] {
  if (e.op === 'const') return out;
  if (rowInvariant(e, row)) out.push(e);
  else if (e.op !== 'select') for (const x of exprOperands(e)) hoistable(x, row, out);
  return out;
}

/** ALU ops whose float math is a call or a long sequence (everything float32 goes through double). */
const COSTLY = new Set(['rsqrt', 'sqrt', 'recip', 'div', 'exp', 'log', 'sin', 'cos', 'tanh', 'pow']);

/** Whether `e` computes some costly float math (see COSTLY). */
function costly(e: Expr): boolean {
  if (e.op === 'alu' && COSTLY.has(e.alu) && (e.dtype === 'float32' || e.dtype === 'float64')) return true;
  return exprOperands(e).some(costly);
}

/** `e` with every node whose key is in `slots` replaced by a load of pseudo-argument -1 - slot. */
function substitute(e: Expr, keys: ExprKeys, slots: ReadonlyMap<string, number>): Expr {
  const r = slots.get(keys.of(e));
  if (r !== undefined) return { op: 'load', dtype: e.dtype, arg: -1 - r, index: { op: 'const', value: 0 } };
  switch (e.op) {
    case 'alu':
      return { ...e, args: e.args.map((a) => substitute(a, keys, slots)) };
    case 'select':
      return { ...e, then: substitute(e.then, keys, slots), else: substitute(e.else, keys, slots) };
    case 'threefry':
      return { ...e, key: [substitute(e.key[0], keys, slots), substitute(e.key[1], keys, slots)] };
    default:
      return e;
  }
}

/**
 * The epilogue of `k` for a renderer whose parameters for the op's operands are named
 * `operandNames` (in `k.args` order); null when `k` has none.
 */
export function storeEpilogue(k: LibraryKernel, operandNames: readonly string[], ctx: EpilogueContext | undefined): StoreEpilogue | null {
  const epi: Expr | undefined = k.epilogue;
  if (!epi) return null;
  const nOps = k.argShapes.length;
  if (!ctx) throw new Error(`@resgrad/backend-cuda: renderLibrary: ${k.op} has an epilogue but no argument dtypes and dialect were given (expected an EpilogueContext)`);
  if (ctx.argTypes.length !== k.args.length)
    throw new Error(`@resgrad/backend-cuda: renderLibrary: ${k.op} has ${k.args.length} args but ${ctx.argTypes.length} argument dtypes were given`);
  if (operandNames.length !== nOps)
    throw new Error(`@resgrad/backend-cuda: storeEpilogue: ${k.op} has ${nOps} operands, got ${operandNames.length} parameter names`);
  const d = ctx.dialect;
  const name = (i: number) => (i < nOps ? operandNames[i]! : `e${i}`);
  const extra = k.args.map((_, i) => i).slice(nOps);
  const params = extra.map((i) => `const ${d.type[ctx.argTypes[i]!]} *__restrict__ ${name(i)}`);
  const indices = indexExprs(epi);
  // 64-bit index arithmetic only where some intermediate value could leave int range.
  const wide = !indices.every((e) => fitsInt32(e, k.shape));
  const syntax = cudaSyntax(d, wide);
  const declare = (axes: Iterable<number>, expr: (a: number) => string) =>
    [...axes].sort((a, b) => a - b).map((a) => `const int ep_i${a} = ${expr(a)};`);
  // Only the axes an expression reads are declared (no unused-variable noise).
  const axesIn = (e: Expr) => {
    const s = new Set<number>();
    for (const i of indexExprs(e)) axesOf(i, s);
    return s;
  };
  return {
    params,
    args: extra,
    site(rowAxes) {
      let counter = 0;
      const fresh = () => `ep${counter++}`;
      const row = new Set(rowAxes.keys());
      const keys = new ExprKeys();
      // One slot per distinct subtree (relu reads its operand twice: the same subtree twice).
      const roots = [...new Map(hoistable(epi, row).filter(costly).map((r) => [keys.of(r), r])).values()];
      const slots = new Map(roots.map((r, j) => [keys.of(r), j]));
      const element = substitute(epi, keys, slots);
      const context = (load: ExprContext['load'], reduced?: string): ExprContext => ({
        dialect: d, syntax, load, axis: (a) => `ep_i${a}`, extents: k.shape, fresh, ...(reduced === undefined ? {} : { reduced }),
      });
      const argLoad = (i: number, index: string) => `${name(i)}[${index}]`;
      return {
        declareRows: (rows) => roots.map((r, j) => `${d.type[r.dtype]} ep_row${j}[${rows}];`),
        computeRow(i) {
          if (roots.length === 0) return [];
          const scope = new Scope(context(argLoad), undefined, keys);
          const values = roots.map((r) => scope.emit(r));
          const used = new Set<number>();
          for (const r of roots) for (const a of axesIn(r)) used.add(a);
          return [...declare(used, (a) => rowAxes.get(a)!), ...scope.lines, ...values.map((v, j) => `ep_row${j}[${i}] = ${v};`)];
        },
        apply(axes, reduced, i) {
          if (axes.length !== k.shape.length)
            throw new Error(`@resgrad/backend-cuda: storeEpilogue: ${k.op} output has rank ${k.shape.length}, got ${axes.length} axis expressions`);
          // Pseudo-argument -1 - j is row value j (a load at index 0).
          const load = (a: number, index: string) => (a < 0 ? `ep_row${-1 - a}[${i}]` : argLoad(a, index));
          const scope = new Scope(context(load, reduced));
          const value = scope.emit(element);
          return { lines: [...declare(axesIn(element), (a) => axes[a]!), ...scope.lines], value };
        },
      };
    },
  };
}

/**
 * The store of a tiled kernel (tiled.ts: each thread computes rows `m` of a few elements):
 * the row values to compute before the product, and the statements storing one element,
 * through the epilogue when there is one (its row axes from `rowAxes(m)`), else `target = v`.
 */
export function tiledStore(epi: StoreEpilogue | null, rowAxes: (m: string) => ReadonlyMap<number, string>) {
  const site = epi?.site(rowAxes('m')) ?? null;
  return {
    /** For TiledSpec.rowValues (row variable `m`), or undefined without an epilogue. */
    rowValues: site ? { declare: (rows: number) => site.declareRows(rows), compute: (i: string) => site.computeRow(i) } : undefined,
    store: (axes: () => readonly string[], v: string, target: string, i: string): string[] => storeLines(site, axes, v, target, i),
  };
}

/**
 * The statements storing the op's value `v` at `target` (a C lvalue) for the output point with
 * axes `axes` in row `i`: through the epilogue's store site when there is one, else directly.
 */
export function storeLines(site: StoreSite | null, axes: () => readonly string[], v: string, target: string, i = '0'): string[] {
  if (!site) return [`${target} = ${v};`];
  const e = site.apply(axes(), v, i);
  return [...e.lines, `${target} = ${e.value};`];
}

/**
 * C expressions of the axes of a row-major shape `dims` from a flat index expression `flat`
 * (outermost first): axis a is (flat / stride_a) % dims[a], with the division or modulo left
 * out where it is the identity.
 */
export function decodeAxes(flat: string, dims: readonly number[]): string[] {
  let stride = 1;
  const out: string[] = new Array(dims.length);
  for (let a = dims.length - 1; a >= 0; a--) {
    const q = stride === 1 ? flat : `(${flat}) / ${stride}`;
    out[a] = a === 0 ? q : `(${q}) % ${dims[a]}`;
    stride *= dims[a]!;
  }
  return out;
}
