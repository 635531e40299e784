// A fused kernel -> one `extern "C" __global__` CUDA function.
//
// Thread structure. Elementwise kernels give one thread per output element in a grid-stride
// loop (any grid size is correct; the launcher caps it at a few waves of the device).
// Reductions pick one of three shapes from the sizes (see `chooseStrategy`):
// - 'thread': one thread folds one output's reduction sequentially (short reductions);
// - 'warp':   one warp per output, lanes stride the reduction, then a shuffle tree;
// - 'block':  one block per output (few outputs, long reductions: BatchNorm statistics),
//             warps shuffle, then warp 0 combines the per-warp partials from shared memory.
// Consecutive lanes take consecutive points of the flattened reduction, whose last axis is
// the innermost in memory for the usual layouts, so loads coalesce.
//
// Accumulation: float sums in double and integer sums in 64-bit (the reference accumulates
// exactly in float64 and rounds once); max in double, keeping NaN. The result is rounded to
// the reduction's dtype exactly as the reference's ROUND does.
import { cAccumulator, cRoundAcc, indent, indexExprs, Scope, type DType, type ExprContext, type FusedKernel } from '@resgrad/core';
import { cudaSyntax, type Dialect } from './dialect.js';
import { CUDA_SPEC } from './spec.js';
import { countFitsInt32, fitsInt32 } from './idx.js';

/** Threads per block of every fused kernel. */
export const BLOCK = 256;
const WARPS = BLOCK / 32;

export type ReduceStrategy = 'elementwise' | 'thread' | 'warp' | 'block';

/** A rendered fused kernel and what its launch needs. */
export interface RenderedFused {
  readonly name: string;
  readonly code: string;
  readonly strategy: ReduceStrategy;
  /** Independent work units (outputs); each takes `threadsPerUnit` threads. */
  readonly units: number;
  readonly threadsPerUnit: number;
  /** Whether index arithmetic is 64-bit. */
  readonly wide: boolean;
}

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** How to parallelise a reduction of `r` points for each of `n` outputs. */
export function chooseStrategy(n: number, r: number): ReduceStrategy {
  if (r < 32) return 'thread';
  if (n <= 1024 && r >= 4096) return 'block';
  return 'warp';
}

/** Declarations decoding flat index `flat` into the named axes of `shape` (row-major). */
function decode(flat: string, shape: readonly number[], name: (a: number) => string, I: string): string[] {
  const lines: string[] = [];
  if (shape.length === 0) return lines;
  lines.push(`${I} rest_${flat} = ${flat};`);
  for (let a = shape.length - 1; a >= 0; a--) {
    const d = shape[a]!;
    if (d === 1) lines.push(`const ${I} ${name(a)} = 0;`);
    else if (a === 0) lines.push(`const ${I} ${name(a)} = rest_${flat};`);
    else lines.push(`const ${I} ${name(a)} = rest_${flat} % ${d}; rest_${flat} /= ${d};`);
  }
  lines.push(`(void)rest_${flat};`);
  return lines;
}

/**
 * Renders fused kernel `k` as `extern "C" __global__ void name(T *out, const T0 *a0, ...)`;
 * `argTypes[i]` is the dtype of argument buffer i.
 */
export function renderFusedCuda(k: FusedKernel, name: string, argTypes: readonly DType[], d: Dialect): RenderedFused {
  const rank = k.shape.length;
  const red = k.reduce;
  const rExt = red?.extents ?? [];
  const extents = [...k.shape, ...rExt];
  const n = size(k.shape);
  const R = size(rExt);
  const all = indexExprs(k.expr, red ? indexExprs(red.body) : []);
  const wide = !(countFitsInt32(n * Math.max(1, R)) && all.every((i) => fitsInt32(i, extents)));
  const I = wide ? 'rg_i64' : 'int';
  const outT = d.type[k.dtype];
  const params = [`${outT} *__restrict__ out`, ...argTypes.map((t, i) => `const ${d.type[t]} *__restrict__ a${i}`)];
  const axisName = (a: number) => (a < rank ? `i${a}` : `r${a - rank}`);
  let counter = 0;
  const ctx: ExprContext = {
    dialect: d,
    syntax: cudaSyntax(d, wide),
    load: (i, index) => `a${i}[${index}]`,
    axis: axisName,
    extents,
    fresh: () => `v${counter++}`,
  };
  const strategy: ReduceStrategy = red ? chooseStrategy(n, R) : 'elementwise';

  // The epilogue: from the (rounded) reduced value to the stored element.
  const finish = (): string[] => {
    const epi = new Scope(ctx);
    const v = epi.emit(k.expr);
    return [...epi.lines, `out[f_] = ${v};`];
  };

  const body: string[] = [];
  if (!red) {
    body.push(...finish());
  } else {
    const acc = cAccumulator(red, CUDA_SPEC);
    const { sum: isSum, type: accT, init } = acc;
    const combine = (x: string) => (isSum ? `acc_ += ${x};` : `acc_ = rg_maxacc(acc_, ${x});`);
    const fold = new Scope(ctx);
    const v = fold.emit(red.body);
    const [start, step] =
      strategy === 'thread' ? ['0', '1'] : strategy === 'warp' ? ['lane_', '32'] : ['threadIdx.x', String(BLOCK)];
    const loop = [
      `for (${I} q_ = ${start}; q_ < ${R}; q_ += ${step}) {`,
      ...decode('q_', rExt, (j) => `r${j}`, I).map(indent),
      ...fold.lines.map(indent),
      `  ${combine(`(${accT})${v}`)}`,
      '}',
    ];
    const shuffle = [`for (int o_ = 16; o_ > 0; o_ >>= 1) {`, `  const ${accT} x_ = __shfl_down_sync(0xffffffffu, acc_, o_);`, `  ${combine('x_')}`, '}'];
    ctx.reduced = 'red_';
    const store = [`const ${d.type[red.dtype]} red_ = ${cRoundAcc(CUDA_SPEC, 'acc_', acc, red.dtype)};`, ...finish()];
    body.push(`${accT} acc_ = ${init};`, ...loop);
    if (strategy === 'thread') body.push(...store);
    else if (strategy === 'warp') body.push(...shuffle, 'if (lane_ == 0) {', ...store.map(indent), '}');
    else
      body.push(
        ...shuffle,
        'if (lane_ == 0) part_[warp_] = acc_;',
        '__syncthreads();',
        'if (warp_ == 0) {',
        `  acc_ = lane_ < ${WARPS} ? part_[lane_] : ${init};`,
        ...shuffle.map(indent),
        '  if (lane_ == 0) {',
        ...store.map((l) => `    ${l}`),
        '  }',
        '}',
        '__syncthreads();',
      );
    return assemble(k, name, params, strategy, n, wide, I, body, accT);
  }
  return assemble(k, name, params, strategy, n, wide, I, body, null);
}

function assemble(
  k: FusedKernel, name: string, params: string[], strategy: ReduceStrategy, n: number, wide: boolean, I: string, body: string[], accT: string | null,
): RenderedFused {
  const head: string[] = [];
  let loop: string;
  if (strategy === 'elementwise' || strategy === 'thread') {
    loop = `for (${I} f_ = (${I})blockIdx.x * blockDim.x + threadIdx.x; f_ < ${n}; f_ += (${I})gridDim.x * blockDim.x) {`;
  } else if (strategy === 'warp') {
    head.push('const int lane_ = threadIdx.x & 31;');
    loop = `for (${I} f_ = ((${I})blockIdx.x * blockDim.x + threadIdx.x) >> 5; f_ < ${n}; f_ += ((${I})gridDim.x * blockDim.x) >> 5) {`;
  } else {
    head.push(`__shared__ ${accT} part_[${WARPS}];`, 'const int lane_ = threadIdx.x & 31, warp_ = threadIdx.x >> 5;');
    loop = `for (${I} f_ = blockIdx.x; f_ < ${n}; f_ += gridDim.x) {`;
  }
  const code = [
    `extern "C" __global__ void __launch_bounds__(${BLOCK}) ${name}(${params.join(', ')}) {`,
    ...head.map(indent),
    `  ${loop}`,
    ...decode('f_', k.shape, (a) => `i${a}`, I).map((l) => `    ${l}`),
    ...body.map((l) => `    ${l}`),
    '  }',
    '}',
  ].join('\n');
  const threadsPerUnit = strategy === 'warp' ? 32 : strategy === 'block' ? BLOCK : 1;
  return { name, code, strategy, units: n, threadsPerUnit, wide };
}
