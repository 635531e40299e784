// Library kernels (dot, the three convolutions) rendered for their shapes. The backend uses
// cuBLAS for float dots when it is loaded; the tiled kernel here is its fallback and the
// kernel of int32 dots, and it is always compiled in CI so it cannot rot.
import type { DType, LibraryKernel, LibraryParams } from '@resgrad/core';
import { renderConvForward, renderConvInputGrad, renderConvWeightGrad, type ConvShape, type RenderedLibrary } from './conv.js';
import { renderTiled, tiledGrid, type TileType } from './tiled.js';

export type { LibraryLaunch, RenderedLibrary } from './conv.js';

const TILE_TYPE: Partial<Record<DType, TileType>> = { float32: 'float', float64: 'double', int32: 'rg_i32' };
const LIMIT = 2 ** 31 - 1;

/** The batched product dims of a dot kernel: [...B, M, K] x [...B, K, N]. */
export function dotDims(k: LibraryKernel<'dot'>): { batch: number; M: number; K: number; N: number } {
  const [a, b] = k.argShapes as [readonly number[], readonly number[]];
  const r = a.length;
  return { batch: a.slice(0, r - 2).reduce((p, d) => p * d, 1), M: a[r - 2]!, K: a[r - 1]!, N: b[r - 1]! };
}

function renderDot(name: string, T: TileType, k: LibraryKernel<'dot'>): RenderedLibrary {
  const { batch, M, K, N } = dotDims(k);
  const code = renderTiled({
    name, T, M, N,
    params: [`${T} *__restrict__ c`, `const ${T} *__restrict__ a`, `const ${T} *__restrict__ b`],
    prologue: [`const int z = blockIdx.z;`, `const ${T} *az = a + (long long)z * ${M * K}, *bz = b + (long long)z * ${K * N};`],
    kBegin: '0', kEnd: String(K),
    loadA: (m, kk) => ({ pre: [], value: `az[${m} * ${K} + ${kk}]` }),
    loadB: (kk, n) => ({ pre: [], value: `bz[${kk} * ${N} + ${n}]` }),
    store: (m, n, v) => [`c[(long long)z * ${M * N} + ${m} * ${N} + ${n}] = ${v};`],
  });
  const [gx, gy] = tiledGrid(M, N);
  return { code, launches: [{ fn: name, grid: [gx, gy, batch], block: 256, args: ['out', 0, 1] }], workspace: 0 };
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

/** Renders library kernel `k` under function name `name`. */
export function renderLibrary(k: LibraryKernel, name: string): RenderedLibrary {
  const T = TILE_TYPE[k.dtype];
  if (!T) throw new Error(`@resgrad/backend-cuda: no ${k.dtype} kernel for library op '${k.op}'`);
  for (const s of [k.shape, ...k.argShapes])
    if (s.reduce((p, d) => p * d, 1) > LIMIT)
      throw new Error(`@resgrad/backend-cuda: library op '${k.op}' on an array of ${s.join('x')} elements exceeds 32-bit indexing`);
  switch (k.op) {
    case 'dot':
      return renderDot(name, T, k as LibraryKernel<'dot'>);
    case 'conv2d':
      return renderConvForward(name, T, convShape(k));
    case 'conv2dInputGrad':
      return renderConvInputGrad(name, T, convShape(k));
    case 'conv2dWeightGrad':
      return renderConvWeightGrad(name, T, convShape(k));
  }
}
