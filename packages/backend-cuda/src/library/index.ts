// Library kernels (dot, the three convolutions) rendered for their shapes. The backend uses
// cuBLAS for float dots when it is loaded; the tiled kernel here is its fallback and the
// kernel of int32 dots, and it is always compiled in CI so it cannot rot.
// A kernel with an epilogue (core's LibraryKernel.epilogue) applies it at its store (epilogue.ts).
import type { DType, LibraryKernel, LibraryOp, LibraryParams } from '@resgrad/core';
import { renderConvForward, renderConvInputGrad, renderConvWeightGrad, type ConvShape, type RenderedLibrary } from './conv.js';
import { decodeAxes, storeEpilogue, tiledStore, type EpilogueContext, type StoreEpilogue } from './epilogue.js';
import { renderTiled, tiledGrid, type TileType } from './tiled.js';

export type { LibraryLaunch, RenderedLibrary } from './conv.js';
export type { EpilogueContext } from './epilogue.js';

const TILE_TYPE: Partial<Record<DType, TileType>> = { float32: 'float', float64: 'double', int32: 'rg_i32' };
const LIMIT = 2 ** 31 - 1;

/** The batched product dims of a dot kernel: [...B, M, K] x [...B, K, N]. */
export function dotDims(k: LibraryKernel<'dot'>): { batch: number; M: number; K: number; N: number } {
  const [a, b] = k.argShapes as [readonly number[], readonly number[]];
  const r = a.length;
  return { batch: a.slice(0, r - 2).reduce((p, d) => p * d, 1), M: a[r - 2]!, K: a[r - 1]!, N: b[r - 1]! };
}

/**
 * Whether the CUDA backend applies an elementwise epilogue inside library op `op` of dtype
 * `dtype` (core's ScheduleOptions.libraryEpilogue). Every op whose kernel is ours (the tiled
 * templates: float32, float64, int32) takes one at its store. Float dots are the exception when
 * cuBLAS runs them (`cublas`): cuBLAS cannot apply an arbitrary expression, and an in-place
 * pass after it would read and write the product once more, which is exactly what the
 * scheduler's own fused kernel does when the dot stays out of this predicate; left out, the
 * chain can instead fuse into whatever consumes it (a bias add into the softmax reduction).
 */
export function cudaLibraryEpilogue(cublas: boolean): (op: LibraryOp, dtype: DType) => boolean {
  return (op, dtype) => TILE_TYPE[dtype] !== undefined && !(cublas && op === 'dot' && (dtype === 'float32' || dtype === 'float64'));
}

function renderDot(name: string, T: TileType, k: LibraryKernel<'dot'>, epi: StoreEpilogue | null): RenderedLibrary {
  const { batch, M, K, N } = dotDims(k);
  const batchDims = k.shape.slice(0, -2);
  // Per row: the batch axes (from z) and m.
  const zAxes = decodeAxes('z', batchDims);
  const out = tiledStore(epi, (m) => new Map([...zAxes.map((e, a) => [a, e] as [number, string]), [batchDims.length, m]]));
  const code = renderTiled({
    name, T, M, N,
    params: [`${T} *__restrict__ c`, `const ${T} *__restrict__ a`, `const ${T} *__restrict__ b`, ...(epi?.params ?? [])],
    prologue: [`const int z = blockIdx.z;`, `const ${T} *az = a + (long long)z * ${M * K}, *bz = b + (long long)z * ${K * N};`],
    kBegin: '0', kEnd: String(K),
    loadA: (m, kk) => ({ pre: [], value: `az[${m} * ${K} + ${kk}]` }),
    loadB: (kk, n) => ({ pre: [], value: `bz[${kk} * ${N} + ${n}]` }),
    // c[...batch, m, n] with the batch axes from the flat batch index z
    rowValues: out.rowValues,
    store: (m, n, v, i) => out.store(() => [...zAxes, m, n], v, `c[(long long)z * ${M * N} + ${m} * ${N} + ${n}]`, i),
  });
  const [gx, gy] = tiledGrid(M, N);
  return { code, launches: [{ fn: name, grid: [gx, gy, batch], block: 256, args: ['out', 0, 1, ...(epi?.args ?? [])] }], workspace: 0 };
}

function convShape(k: LibraryKernel): ConvShape {
  const p = k.params as LibraryParams['conv2d'];
  let x: readonly number[];
  let w: readonly number[];
  let y: readonly number[];
  if (k.op === 'conv2d') [x, w, y] = [k.argShapes[0]!, k.argShapes[1]!, k.shape];
  else if (k.op === 'conv2dInputGrad') [y, w, x] = [k.argShapes[0]!, k.argShapes[1]!, k.shape];
  else [x, y, w] = [k.argShapes[0]!, k.argShapes[1]!, k.shape];
  const [N, C, H, W] = x as [number, number, number, number];
  const [O, , KH, KW] = w as [number, number, number, number];
  const [, , OH, OW] = y as [number, number, number, number];
  return { N, C, H, W, O, KH, KW, OH, OW, p };
}

/** The names the renderers give the op's operands (kernel parameters after the output). */
const OPERANDS: Record<LibraryOp, readonly [string, string]> = {
  dot: ['a', 'b'],
  conv2d: ['x', 'w'],
  conv2dInputGrad: ['dy', 'w'],
  conv2dWeightGrad: ['x', 'dy'],
};

/**
 * Renders library kernel `k` under function name `name`. A kernel with an epilogue needs
 * `epilogue`: the dtypes of its args and the dialect its expression is printed in.
 */
export function renderLibrary(k: LibraryKernel, name: string, epilogue?: EpilogueContext): RenderedLibrary {
  const T = TILE_TYPE[k.dtype];
  if (!T) throw new Error(`@resgrad/backend-cuda: no ${k.dtype} kernel for library op '${k.op}'`);
  for (const s of [k.shape, ...k.argShapes])
    if (s.reduce((p, d) => p * d, 1) > LIMIT)
      throw new Error(`@resgrad/backend-cuda: library op '${k.op}' on an array of ${s.join('x')} elements exceeds 32-bit indexing`);
  const epi = storeEpilogue(k, OPERANDS[k.op], epilogue);
  switch (k.op) {
    case 'dot':
      return renderDot(name, T, k as LibraryKernel<'dot'>, epi);
    case 'conv2d':
      return renderConvForward(name, T, convShape(k), epi);
    case 'conv2dInputGrad':
      return renderConvInputGrad(name, T, convShape(k), epi);
    case 'conv2dWeightGrad':
      return renderConvWeightGrad(name, T, convShape(k), epi);
  }
}
