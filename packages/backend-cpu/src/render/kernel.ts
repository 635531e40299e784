// A fused kernel -> one exported C function plus the task the thread pool runs.
//
// Loop structure. The output's index space is flattened to [0, n) and split by the pool into
// one contiguous chunk per thread (static chunking); a chunk walks the output row by row,
// where a row is the last axis: the row's leading indices are decoded once, then an inner
// loop runs over the last axis with affine index arithmetic that gcc vectorises. Splitting
// the flat range (rather than whole rows) keeps every thread busy when there are few rows
// (a 1-d update of a large parameter vector). Kernels with little work run on the calling
// thread (a region costs a few microseconds). Trailing axes that every index reads as one
// contiguous run are merged first (render/merge.ts), output and reduction axes alike, so a
// [128, 16, 32, 32] kernel walks rows of 1024, not 32.
//
// Reductions. For each output point the body is folded over the reduction axes in nested
// loops: sum accumulates in double for float bodies (the reference does, then rounds once)
// and in int64 for integer bodies (exact, as the reference's doubles are below 2^53), with
// `omp simd reduction` on the innermost loop (-fopenmp-simd; no OpenMP runtime) so gcc may
// vectorise it by reassociating the partial sums; max starts at -inf and keeps the first NaN.
import { cAccumulator, cRoundAcc, indexExprs, Scope, type DType, type ExprContext, type FusedKernel } from '@resgrad/core';
import { cpuSyntax, type Dialect } from './dialect.js';
import { C_SPEC } from './spec.js';
import { trailingGroup } from './merge.js';

/** Below this many points of work (output points times reduction extent) a kernel runs serially. */
export const PARALLEL_WORK = 16384;

export interface RenderedKernel {
  /** The exported function's name. */
  readonly name: string;
  /** Its prototype (for koffi). */
  readonly prototype: string;
  /** The C definitions (context struct, task, entry point). */
  readonly code: string;
}

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/**
 * How a library kernel's entry point runs its op before its epilogue task rewrites the output
 * in place (see render/library.ts): given the task's name and the number of flat points the
 * task spans, the C statements of the entry's body after the context `c` is set up.
 */
export type EpilogueEntry = (task: string, points: number) => string[];

/**
 * Renders fused kernel `k` as `void name(T *out, const T0 *a0, ...)`; `argTypes[i]` is the
 * dtype of argument buffer i. With `library`, `k` is a library kernel's epilogue: its
 * `reduced` is the value already in `out`, and the entry runs the op through `library`.
 */
export function renderFused(k: FusedKernel, name: string, argTypes: readonly DType[], d: Dialect, library?: EpilogueEntry): RenderedKernel {
  const rank = k.shape.length;
  const red = k.reduce;
  const fullExt = [...k.shape, ...(red?.extents ?? [])];
  // Trailing axes read as one contiguous run merge into their last axis (see merge.ts):
  // output axes og..rank-1 and reduction axes rank+rg..; the others of a group become 0.
  const idxs = [...indexExprs(k.expr), ...(red ? indexExprs(red.body) : [])];
  const og = rank > 1 ? trailingGroup(idxs, 0, rank, fullExt) : Math.max(0, rank - 1);
  const nr = red?.extents.length ?? 0;
  const rg = nr > 1 ? trailingGroup(idxs, rank, nr, fullExt) - rank : Math.max(0, nr - 1);
  const prod = (xs: readonly number[]) => xs.reduce((p, x) => p * x, 1);
  const shape = rank > 0 ? [...k.shape.slice(0, og), prod(k.shape.slice(og))] : [];
  const rExt = red && nr > 0 ? [...red.extents.slice(0, rg), prod(red.extents.slice(rg))] : [];
  const extents = fullExt.map((e, a) => {
    const lastOfGroup = a === rank - 1 || a === rank + nr - 1;
    const inGroup = a < rank ? a >= og : a - rank >= rg;
    return !inGroup ? e : lastOfGroup ? (a < rank ? shape[og]! : rExt[rg]!) : 1;
  });
  const outT = d.type[k.dtype];
  const params = [`${outT} *out`, ...argTypes.map((t, i) => `const ${d.type[t]} *a${i}`)];
  const axisName = (a: number) => {
    if (a < rank) return a >= og && a < rank - 1 ? '0LL' : a === rank - 1 ? `i${og}` : `i${a}`;
    const j = a - rank;
    return j >= rg && j < nr - 1 ? '0LL' : j === nr - 1 ? `r${rg}` : `r${j}`;
  };
  let counter = 0;
  const ctx: ExprContext = {
    dialect: d,
    syntax: cpuSyntax(d),
    load: (i, index) => `a${i}[${index}]`,
    axis: axisName,
    extents,
    fresh: () => `v${counter++}`,
  };

  // The code for one output point, with `out_at` the flat output offset.
  const point: string[] = [];
  if (red) {
    const acc = cAccumulator(red, C_SPEC);
    const isSum = acc.sum;
    point.push(`${acc.type} acc = ${acc.init};`);
    const loops: string[] = [];
    rExt.forEach((n, j) => {
      if (j === rExt.length - 1 && isSum) loops.push(`#pragma omp simd reduction(+:acc)`);
      loops.push(`${'  '.repeat(j)}for (int64_t r${j} = 0; r${j} < ${n}LL; r${j}++) {`);
    });
    const body = new Scope(ctx);
    const v = body.emit(red.body);
    const depth = '  '.repeat(rExt.length);
    const fold = isSum ? `acc += (${acc.type})${v};` : `{ const double x_ = (double)${v}; acc = (x_ > acc || x_ != x_) ? x_ : acc; }`;
    point.push(...loops, ...body.lines.map((l) => depth + l), depth + fold, ...rExt.map((_, j) => `${'  '.repeat(rExt.length - 1 - j)}}`));
    ctx.reduced = 'red';
    point.push(`const ${d.type[red.dtype]} red = ${cRoundAcc(C_SPEC, 'acc', acc, red.dtype)};`);
  }
  if (library) ctx.reduced = 'out[out_at]';
  const epi = new Scope(ctx);
  const value = epi.emit(k.expr);
  point.push(...epi.lines, `out[out_at] = ${value};`);

  const n = size(shape);
  const work = n * Math.max(1, size(rExt));
  const effRank = shape.length;
  const last = effRank > 0 ? shape[effRank - 1]! : 1;
  // Decode the leading indices of a row (row-major, innermost of them first).
  const decode: string[] = [];
  if (effRank > 1) {
    decode.push('int64_t rest_ = row_;');
    for (let a = effRank - 2; a >= 0; a--) {
      decode.push(a > 0 ? `const int64_t i${a} = rest_ % ${shape[a]}LL; rest_ /= ${shape[a]}LL;` : `const int64_t i0 = rest_;`);
    }
  }
  const lastName = effRank > 0 ? `i${effRank - 1}` : 'i_';
  const struct = [`typedef struct {`, `  ${outT} *out;`, ...argTypes.map((t, i) => `  const ${d.type[t]} *a${i};`), `} ${name}_ctx;`];
  const task = [
    `static void ${name}_task(void *c_, int64_t b_, int64_t e_, int tid_) {`,
    `  (void)tid_;`,
    `  const ${name}_ctx *c = (const ${name}_ctx *)c_;`,
    `  ${outT} *restrict out = c->out;`,
    ...argTypes.map((t, i) => `  const ${d.type[t]} *restrict a${i} = c->a${i};`),
    `  int64_t f_ = b_;`,
    `  while (f_ < e_) {`,
    `    const int64_t row_ = f_ / ${last}LL, start_ = f_ - row_ * ${last}LL;`,
    `    const int64_t stop_ = e_ - f_ < ${last}LL - start_ ? start_ + (e_ - f_) : ${last}LL;`,
    ...decode.map((l) => `    ${l}`),
    `    for (int64_t ${lastName} = start_; ${lastName} < stop_; ${lastName}++) {`,
    `      const int64_t out_at = row_ * ${last}LL + ${lastName};`,
    ...point.map((l) => (l.startsWith('#pragma') ? l : `      ${l}`)),
    `    }`,
    `    f_ += stop_ - start_;`,
    `  }`,
    `}`,
  ];
  const entry = [
    `RG_EXPORT void ${name}(${params.join(', ')}) {`,
    `  ${name}_ctx c = {out${argTypes.map((_, i) => `, a${i}`).join('')}};`,
    ...(library ? library(`${name}_task`, n).map((l) => `  ${l}`) : [`  rg_run(${n}LL, ${work}LL, ${name}_task, &c);`]),
    `}`,
  ];
  const prototype = `void ${name}(${params.join(', ')})`;
  return { name, prototype, code: [...struct, ...task, ...entry].join('\n') };
}
