// Library epilogues in WGSL. A LibraryKernel may carry `epilogue`, the elementwise chain the
// scheduler folded after the op (inference: BatchNorm affine, residual add, ReLU; training: the
// ReLU-gradient mask and BatchNorm-backward terms after an input gradient, the momentum update
// after a weight gradient). Every library kernel stores each output element exactly once, by
// one invocation (the GEMM's 4 x 4 register block, or the direct kernels' accumulator), so the
// epilogue is evaluated right there: a module-scope function
//
//   fn epilogue_at(i0: i32, i1: i32, ..., red: T) -> T
//
// evaluates the expression at the output's multi-index (i0, i1, ...) with `reduced` = `red`, the
// op's result at that point, its loads bound like a fused kernel's (bindings.ts: `a<arg>` or the
// pack). Each kernel passes the multi-index it already has (the direct kernels decode it to
// gather their operands; the GEMM derives it from its row, column and batch) rather than a flat
// index to decode again: integer divisions are not free, on CPU adapters least of all (x86 has
// no vector integer division).
// Stored values are those of the unfused schedule (the op's f32/i32 result, then the same WGSL
// for the chain), so the only difference is one kernel launch and one full read and write of
// the output fewer.
import {
  exprOperands, indent, Scope, type DType, type Expr, type ExprContext, type FusedKernel, type LibraryKernel, type LibraryOp,
} from '@resgrad/core';
import { loadArg, type BindingLayout } from './bindings.js';
import { WGSL_DIALECT, wgslType } from './dialect.js';
import { WGSL_SYNTAX } from './syntax.js';

/** The name of the module-scope epilogue function of a library shader. */
export const EPILOGUE_FN = 'epilogue_at';

/**
 * The `libraryEpilogue` predicate of the WebGPU backend (see core's ScheduleOptions): which
 * library ops' elementwise epilogues its WGSL kernels evaluate at their stores. float32: every
 * op, on the tiled GEMM and on the direct convolutions alike; int32: the matmul (the only int32
 * library op the backend renders). The binding limit is no reason to refuse: see
 * {@link epiloguePlacement}.
 */
export function webgpuLibraryEpilogue(op: LibraryOp, dtype: DType): boolean {
  return dtype === 'float32' || (dtype === 'int32' && op === 'dot');
}

/** The epilogue's part of a library shader. */
export interface EpilogueCode {
  /** Module-scope WGSL: the function {@link EPILOGUE_FN}, or '' for a kernel without epilogue. */
  readonly decl: string;
  /**
   * The statement that stores `value` (the op's result, a WGSL expression of the kernel's type)
   * at flat output index `index`, whose multi-index over the output shape is `axes` (i32
   * expressions, outermost first): `out[index] = value;` without an epilogue.
   */
  store(index: string, axes: readonly string[], value: string): string;
}

/**
 * The epilogue code of library kernel `k` whose arguments are bound by `layout`. The expression
 * goes through core's walker (Scope): guarded loads touch memory only where `valid` holds (a
 * channel-padded shortcut reads nothing in the padding), and each `select` branch is evaluated
 * only where chosen.
 */
export function renderEpilogue(k: LibraryKernel, layout: BindingLayout): EpilogueCode {
  const epilogue = k.epilogue;
  if (!epilogue) return { decl: '', store: (index, _axes, value) => `out[${index}] = ${value};` };
  const t = wgslType(k.dtype, `the epilogue of ${k.op}`);
  checkEpilogue(k, epilogue);
  let counter = 0;
  const ctx: ExprContext = {
    dialect: WGSL_DIALECT,
    syntax: WGSL_SYNTAX,
    load: (arg, index) => loadArg(layout, arg, index),
    axis: (a) => `i${a}`,
    extents: k.shape,
    reduced: 'red',
    fresh: () => `e${counter++}`,
  };
  const s = new Scope(ctx);
  const v = s.emit(epilogue);
  const params = k.shape.map((_, a) => `i${a}: i32, `).join('');
  const decl = [`fn ${EPILOGUE_FN}(${params}red: ${t}) -> ${t} {`, ...s.lines.map(indent), `  return ${t}(${v});`, '}'].join('\n');
  return {
    decl,
    store: (index, axes, value) => {
      if (axes.length !== k.shape.length)
        throw new Error(`@resgrad/backend-webgpu: internal error: a ${k.op} store gives ${axes.length} axes for output [${k.shape.join(', ')}]`);
      return `out[${index}] = ${EPILOGUE_FN}(${[...axes, value].join(', ')});`;
    },
  };
}

/**
 * The multi-index of flat index `flat` over row-major `shape`, as i32 expressions (an empty
 * shape gives none): `[(f / 12i), (f / 4i) % 3i, f % 4i]` for [2, 3, 4].
 */
export function axesOf(flat: string, shape: readonly number[]): string[] {
  let stride = shape.reduce((a, b) => a * b, 1);
  return shape.map((d, k) => {
    stride /= d;
    const q = stride === 1 ? flat : `(${flat} / ${stride}i)`;
    return k === 0 ? q : `${q} % ${d}i`;
  });
}

/** The argument numbers an expression loads, each once, in order of first appearance. */
function loadedArgs(e: Expr, out: number[] = []): number[] {
  if (e.op === 'load' && !out.includes(e.arg)) out.push(e.arg);
  for (const x of exprOperands(e)) loadedArgs(x, out);
  return out;
}

function checkEpilogue(k: LibraryKernel, e: Expr): void {
  if (e.dtype !== k.dtype)
    throw new Error(`@resgrad/backend-webgpu: internal error: a ${k.op} epilogue of dtype ${e.dtype} on a ${k.dtype} result`);
  for (const a of loadedArgs(e))
    if (a >= k.args.length) throw new Error(`@resgrad/backend-webgpu: internal error: a ${k.op} epilogue loads argument ${a} of ${k.args.length}`);
}

// ---------------------------------------------------------------------------------------
// The binding limit
// ---------------------------------------------------------------------------------------

/**
 * How a library kernel with an epilogue meets maxStorageBuffersPerShaderStage:
 * - 'fused': the output and every argument (operands, then the epilogue's buffers) have
 *   bindings of their own, or the arguments beyond the limit are packed (bindings.ts) and hold
 *   fewer elements than the output: copying them into the pack before the dispatch costs less
 *   than the output pass it saves;
 * - 'split': otherwise. The op runs as without an epilogue, and the epilogue follows as an
 *   in-place elementwise pass over the output that binds only the buffers it reads (packed
 *   beyond the limit like any fused kernel's): the work and bindings of the unfused schedule,
 *   never more, and no extra memory.
 * The scheduler's predicate sees only (op, dtype), so it can claim every epilogue; this choice,
 * made per kernel with the adapter's limits in hand, keeps the claim sound.
 */
export function epiloguePlacement(k: LibraryKernel, layout: BindingLayout, maxBindingBytes: number): 'fused' | 'split' {
  if (!k.epilogue || layout.packBinding < 0) return 'fused';
  const outputs = k.shape.reduce((a, b) => a * b, 1);
  return layout.packElements < outputs && layout.packElements * 4 <= maxBindingBytes ? 'fused' : 'split';
}

/**
 * Library kernel `k` split into the op alone (its operands only, storing its result in `k.out`)
 * and the epilogue as an in-place pass: a fused elementwise kernel over `k.out` whose `reduced`
 * is the element already there (render it with `renderFused(..., { inPlace: true })`), its loads
 * renumbered to the buffers it reads.
 */
export function splitEpilogue(k: LibraryKernel): { op: LibraryKernel; pass: FusedKernel } {
  const epilogue = k.epilogue;
  if (!epilogue) throw new Error(`@resgrad/backend-webgpu: internal error: splitEpilogue of a ${k.op} without epilogue`);
  const { epilogue: _, ...rest } = k;
  const op: LibraryKernel = { ...rest, args: k.args.slice(0, k.argShapes.length) };
  const used = loadedArgs(epilogue);
  const renumber = (e: Expr): Expr => {
    switch (e.op) {
      case 'load':
        return { ...e, arg: used.indexOf(e.arg) };
      case 'alu':
        return { ...e, args: e.args.map(renumber) };
      case 'select':
        return { ...e, then: renumber(e.then), else: renumber(e.else) };
      case 'threefry':
        return { ...e, key: [renumber(e.key[0]), renumber(e.key[1])] };
      default:
        return e;
    }
  };
  const pass: FusedKernel = { kind: 'fused', shape: k.shape, dtype: k.dtype, expr: renumber(epilogue), args: used.map((a) => k.args[a]!), out: k.out };
  return { op, pass };
}
