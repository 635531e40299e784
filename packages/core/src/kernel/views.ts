// How each movement primitive reads its input: given the multi-index of an output element
// (as index expressions), the multi-index of the input element it equals, plus where it
// holds (padding and concatenation). Movement ops never become kernels of their own; the
// scheduler composes these maps into the index expressions of loads (like tinygrad's views).
import type { Aval } from '../graph.js';
import type { Params } from '../primitives/types.js';
import { add, and, type Extents, flatten, ge, lit, lt, mod, mul, sub, div, unflatten, eq } from './idx.js';
import type { Idx } from './ir.js';

/** One input an output element may come from: input `input` at `idx`, where `valid` holds. */
export interface ViewSource {
  readonly input: number;
  readonly idx: readonly Idx[];
  /** Absent: always valid. */
  readonly valid?: Idx;
}

/** The first source whose condition holds gives the value; where none holds, `fill`. */
export interface View {
  readonly sources: readonly ViewSource[];
  readonly fill?: number;
}

export type MovementName = 'reshape' | 'broadcast' | 'transpose' | 'slice' | 'pad' | 'concat';

/** Maps an output multi-index to its input(s); `ext` are the kernel's axis extents (for simplification). */
export type ViewRule<P extends MovementName> = (
  idx: readonly Idx[],
  inputs: readonly Aval[],
  out: Aval,
  params: Params[P],
  ext: Extents,
) => View;

const single = (idx: readonly Idx[], valid?: Idx): View => ({ sources: [{ input: 0, idx, valid }] });

/** One rule per movement primitive. */
export const views: { readonly [P in MovementName]: ViewRule<P> } = {
  // Same row-major flat position: flatten the output index, unflatten into the input shape.
  reshape: (idx, [x], out, _p, ext) => single(unflatten(flatten(idx, out.shape, ext), x!.shape, ext)),

  // Input dims align with the trailing output dims; a stretched size-1 dim always reads 0.
  broadcast: (idx, [x], out) => {
    const off = out.shape.length - x!.shape.length;
    return single(x!.shape.map((d, k) => (d === 1 ? lit(0) : idx[off + k]!)));
  },

  // Output axis i is input axis perm[i].
  transpose: (idx, _x, _out, p) => {
    const inIdx = new Array<Idx>(p.perm.length);
    p.perm.forEach((a, i) => (inIdx[a] = idx[i]!));
    return single(inIdx);
  },

  // Output position j along an axis reads start + j*step.
  slice: (idx, _x, _out, p) => single(idx.map((e, k) => add(lit(p.start[k]!), mul(e, lit(p.step[k]!))))),

  // Output position j reads input (j - lo)/s (s = interior + 1) where j - lo >= 0, (j - lo) is a
  // multiple of s and the quotient is below the input's extent; elsewhere the pad value.
  pad: (idx, [x], _out, p, ext) => {
    let valid: Idx | undefined;
    const inIdx = x!.shape.map((n, k) => {
      const j = sub(idx[k]!, lit(p.lo[k]!));
      const s = p.interior[k]! + 1;
      if (n === 0) valid = lit(0);
      valid = and(valid, and(ge(j, lit(0), ext), lt(j, lit((n - 1) * s + 1), ext)));
      if (s > 1) valid = and(valid, eq(mod(j, s, ext), lit(0), ext));
      return div(j, s, ext);
    });
    return { sources: [{ input: 0, idx: inIdx, valid }], fill: p.value };
  },

  // Along the axis, input i covers [offset_i, offset_i + n_i); the last covers the rest.
  concat: (idx, xs, _out, p, ext) => {
    let offset = 0;
    const sources = xs.map((x, i): ViewSource => {
      const inIdx = idx.map((e, k) => (k === p.axis ? sub(e, lit(offset)) : e));
      const hi = offset + x.shape[p.axis]!;
      const valid = i === xs.length - 1 ? undefined : lt(idx[p.axis]!, lit(hi), ext);
      offset = hi;
      return { input: i, idx: inIdx, valid };
    });
    return { sources };
  },
};
