// Reductions: the fold of a value into an accumulator, and the combination of a workgroup's
// partial accumulators into one value, either through a tree in workgroup memory or with
// subgroup operations. Used by the fused reductions (fused.ts) and the direct weight-gradient
// kernel (library.ts).
//
// The order of a float sum differs between the two (and from the reference, which accumulates
// in float64 and rounds once): each is a reassociation of the same terms, so the error stays
// within the float32 bound of a pairwise-style sum that the conformance suite allows (SUMS).
// Max is exact in either; NaN is handled explicitly since WGSL leaves max/subgroupMax of a NaN
// operand implementation-defined.
import type { DType } from '@resgrad/core';
import { literal, wgslType } from './dialect.js';
import { SUBGROUP_DIRECTIVES } from './features.js';

/** How values combine: an identity and the fold of one value into an accumulator. */
export interface Folder {
  readonly op: 'sum' | 'max';
  readonly dtype: DType;
  /** WGSL type of the accumulator. */
  readonly accType: string;
  /** The identity: the accumulator's start. */
  readonly init: string;
  /** The value of a reduction over nothing (differs from `init` for an integer max). */
  readonly empty: string;
  /** A statement folding value `v` into variable `acc`. */
  readonly fold: (acc: string, v: string) => string;
}

/** The folder of reduction `op` accumulating in `dtype`, with the reference's semantics. */
export function folder(op: 'sum' | 'max', dtype: DType): Folder {
  const accType = wgslType(dtype, 'reduction');
  if (op === 'sum') {
    const zero = literal(0, dtype);
    return { op, dtype, accType, init: zero, empty: zero, fold: (acc, v) => `${acc} = ${acc} + ${v};` };
  }
  if (dtype === 'float32')
    // NaN sticks: once acc is NaN, `v > acc` is false and only another NaN replaces it.
    return {
      op, dtype, accType,
      init: '(-rg_inf())',
      empty: '(-rg_inf())',
      fold: (acc, v) => `if (rg_isnan(${v}) || ${v} > ${acc}) { ${acc} = ${v}; }`,
    };
  // int max: the reference starts at -Infinity and rounds with `| 0`, so an empty max is 0.
  const lowest = dtype === 'int32' ? 'i32(-2147483647 - 1)' : '0u';
  return { op, dtype, accType, init: lowest, empty: literal(0, dtype), fold: (acc, v) => `${acc} = max(${acc}, ${v});` };
}

/** The combination step of a workgroup reduction, to splice into a shader. */
export interface WorkgroupCombine {
  /** Module directives (first in the module). */
  readonly directives: readonly string[];
  /** Module-scope declarations (workgroup memory). */
  readonly decls: readonly string[];
  /** Entry-point parameters to append after the common ones (each with a leading ", "). */
  readonly params: string;
  /**
   * Statements, in workgroup-uniform control flow, that combine every invocation's `acc` into
   * `let red` in exactly one invocation; every other invocation returns.
   */
  readonly lines: readonly string[];
}

/** A subgroup-wide reduction of `x` (every active invocation of the subgroup gets the result). */
function subgroupReduce(f: Folder, x: string): string {
  if (f.op === 'sum') return `subgroupAdd(${x})`;
  // subgroupMax of a NaN operand is implementation-defined: any NaN makes the result NaN.
  if (f.dtype === 'float32') return `select(subgroupMax(${x}), rg_nan(), subgroupAny(rg_isnan(${x})))`;
  return `subgroupMax(${x})`;
}

/**
 * Combines the `acc` of a workgroup's `wg` invocations (`wg` a power of two, `lid` the local
 * invocation index), with subgroup operations when `subgroups` is set, else with a tree.
 *
 * Tree: log2(wg) halving steps in workgroup memory, a barrier after each.
 *
 * Subgroups: each subgroup reduces its invocations' values at once, and its elected invocation
 * stores the result at slot `subgroup_id`; after one barrier, subgroup 0 folds those
 * num_subgroups slots (each of its active invocations, ranked by subgroupExclusiveAdd, takes a
 * strided share, so no assumption is made on which lanes are active) and reduces once more.
 * WGSL does not define how subgroups map onto local_invocation_index, hence subgroup_id rather
 * than lid / subgroup_size. The result is deterministic for a given device and pipeline.
 */
export function workgroupCombine(f: Folder, wg: number, subgroups: boolean): WorkgroupCombine {
  const T = f.accType;
  if (!subgroups)
    return {
      directives: [],
      decls: [`var<workgroup> partial: array<${T}, ${wg}>;`],
      params: '',
      lines: [
        'partial[lid] = acc;',
        'workgroupBarrier();',
        `for (var w: u32 = ${wg / 2}u; w > 0u; w = w / 2u) {`,
        '  if (lid < w) {',
        '    var a = partial[lid];',
        '    let b = partial[lid + w];',
        `    ${f.fold('a', 'b')}`,
        '    partial[lid] = a;',
        '  }',
        '  workgroupBarrier();',
        '}',
        'if (lid != 0u) { return; }',
        `let red: ${T} = partial[0];`,
      ],
    };
  return {
    directives: SUBGROUP_DIRECTIVES,
    // num_subgroups <= wg (a subgroup has at least one invocation)
    decls: [`var<workgroup> partial: array<${T}, ${wg}>;`],
    params: ', @builtin(subgroup_id) sg_id: u32, @builtin(num_subgroups) sg_count: u32',
    lines: [
      `let sg_red: ${T} = ${subgroupReduce(f, 'acc')};`,
      'if (subgroupElect()) { partial[sg_id] = sg_red; }',
      'workgroupBarrier();',
      'if (sg_id != 0u) { return; }',
      'let sg_lane: u32 = subgroupExclusiveAdd(1u);',
      'let sg_lanes: u32 = subgroupAdd(1u);',
      `var acc2: ${T} = ${f.init};`,
      'for (var j: u32 = sg_lane; j < sg_count; j += sg_lanes) {',
      '  let b = partial[j];',
      `  ${f.fold('acc2', 'b')}`,
      '}',
      `let red: ${T} = ${subgroupReduce(f, 'acc2')};`,
      'if (sg_lane != 0u) { return; }',
    ],
  };
}
