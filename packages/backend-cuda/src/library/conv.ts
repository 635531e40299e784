// conv2d forward, input-gradient and weight-gradient as implicit GEMMs over the tiled
// template, per group (blockIdx.z). Layouts: x [N, C, H, W], w [O, C/groups, KH, KW],
// y [N, O, OH, OW] (NCHW / OIHW, row-major), as core's reference defines them.
//
//   forward:      y[o, p]  = sum_k w[o, k]  * x~[k, p]   k = (c, kh, kw), p = (n, oh, ow)
//   input grad:   dx[c, p] = sum_k w~[c, k] * dy~[k, p]  k = (o, kh, kw), p = (n, ih, iw)
//   weight grad:  dw[o, q] = sum_k dy~[o, k] * x~[k, q]  k = (n, oh, ow), q = (c, kh, kw)
//
// The input gradient is computed as a gather (each dx element sums the dy elements whose
// window covers it: oh = (ih + pad - kh*dil) / stride when divisible), so every output is
// written once, without atomics. The weight gradient's K (N*OH*OW, 131072 for a CIFAR batch)
// dwarfs its M x N (16 x 144), so it splits K across blocks (split-K) into a workspace of
// partial products that a second kernel sums in a fixed order (deterministic).
//
// With an epilogue (see epilogue.ts) each kernel applies it where it stores an output element;
// the split-K weight gradient applies it in the kernel that sums the slices, where the final
// value first exists.
import type { ConvParams } from '@resgrad/core';
import { decodeAxes, storeLines, tiledStore, type StoreEpilogue } from './epilogue.js';
import { renderTiled, tiledGrid, type TileType } from './tiled.js';

/** The shapes of one convolution (per the reference's conventions). */
export interface ConvShape {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly O: number;
  readonly KH: number;
  readonly KW: number;
  readonly OH: number;
  readonly OW: number;
  readonly p: ConvParams;
}

/** One launch of a rendered library kernel. */
export interface LibraryLaunch {
  readonly fn: string;
  readonly grid: readonly [number, number, number];
  readonly block: number;
  /** Kernel arguments in order: the output, an input (by position in the kernel's args), or the workspace. */
  readonly args: readonly ('out' | 'ws' | number)[];
}

/** Source and launches of a library kernel; `workspace` elements of its dtype when split-K needs them. */
export interface RenderedLibrary {
  readonly code: string;
  readonly launches: readonly LibraryLaunch[];
  readonly workspace: number;
}

const geometry = (s: ConvShape) => {
  const g = s.p.groups;
  return { g, Cg: s.C / g, Og: s.O / g, sh: s.p.stride[0], sw: s.p.stride[1], ph: s.p.padding[0][0], pw: s.p.padding[1][0], dh: s.p.dilation[0], dw: s.p.dilation[1] };
};

/** conv2d: y = conv(x, w); kernel args (x, w), then the epilogue's. */
export function renderConvForward(name: string, T: TileType, s: ConvShape, epi: StoreEpilogue | null = null): RenderedLibrary {
  const { g, Cg, Og, sh, sw, ph, pw, dh, dw } = geometry(s);
  const K = Cg * s.KH * s.KW;
  const P = s.N * s.OH * s.OW;
  const out = tiledStore(epi, (m) => new Map([[1, `g * ${Og} + ${m}`]]));
  const code = renderTiled({
    name, T, M: Og, N: P,
    params: [`${T} *__restrict__ y`, `const ${T} *__restrict__ x`, `const ${T} *__restrict__ w`, ...(epi?.params ?? [])],
    prologue: ['const int g = blockIdx.z;'],
    kBegin: '0', kEnd: String(K),
    loadA: (m, k) => ({ pre: [], value: `w[(g * ${Og} + ${m}) * ${K} + ${k}]` }),
    loadB: (k, n) => ({
      pre: [
        `const int c = ${k} / ${s.KH * s.KW}, kh = (${k} / ${s.KW}) % ${s.KH}, kw = ${k} % ${s.KW};`,
        `const int b = ${n} / ${s.OH * s.OW}, oh = (${n} / ${s.OW}) % ${s.OH}, ow = ${n} % ${s.OW};`,
        `const int ih = oh * ${sh} - ${ph} + kh * ${dh}, iw = ow * ${sw} - ${pw} + kw * ${dw};`,
      ],
      value: `(ih >= 0 && ih < ${s.H} && iw >= 0 && iw < ${s.W}) ? x[((b * ${s.C} + g * ${Cg} + c) * ${s.H} + ih) * ${s.W} + iw] : (${T})0`,
    }),
    // y[b, o, oh, ow] with o = g*Og + m (per row) and (b, q = oh*OW + ow) from n
    rowValues: out.rowValues,
    store: (m, n, v, i) => [
      `const int b = ${n} / ${s.OH * s.OW}, q = ${n} % ${s.OH * s.OW};`,
      ...out.store(() => ['b', `g * ${Og} + ${m}`, `q / ${s.OW}`, `q % ${s.OW}`], v, `y[(b * ${s.O} + g * ${Og} + ${m}) * ${s.OH * s.OW} + q]`, i),
    ],
  });
  const [gx, gy] = tiledGrid(Og, P);
  return { code, launches: [{ fn: name, grid: [gx, gy, g], block: 256, args: ['out', 0, 1, ...(epi?.args ?? [])] }], workspace: 0 };
}

/** conv2dInputGrad: dx from (dy, w); kernel args (dy, w), then the epilogue's. */
export function renderConvInputGrad(name: string, T: TileType, s: ConvShape, epi: StoreEpilogue | null = null): RenderedLibrary {
  const { g, Cg, Og, sh, sw, ph, pw, dh, dw } = geometry(s);
  const K = Og * s.KH * s.KW;
  const P = s.N * s.H * s.W;
  const out = tiledStore(epi, (m) => new Map([[1, `g * ${Cg} + ${m}`]]));
  const code = renderTiled({
    name, T, M: Cg, N: P,
    params: [`${T} *__restrict__ dx`, `const ${T} *__restrict__ dy`, `const ${T} *__restrict__ w`, ...(epi?.params ?? [])],
    prologue: ['const int g = blockIdx.z;'],
    kBegin: '0', kEnd: String(K),
    // w~[c, (o, kh, kw)] = w[g*Og + o, c, kh, kw]
    loadA: (m, k) => ({
      pre: [`const int o = ${k} / ${s.KH * s.KW}, r = ${k} % ${s.KH * s.KW};`],
      value: `w[((g * ${Og} + o) * ${Cg} + ${m}) * ${s.KH * s.KW} + r]`,
    }),
    loadB: (k, n) => ({
      pre: [
        `const int o = ${k} / ${s.KH * s.KW}, kh = (${k} / ${s.KW}) % ${s.KH}, kw = ${k} % ${s.KW};`,
        `const int b = ${n} / ${s.H * s.W}, ih = (${n} / ${s.W}) % ${s.H}, iw = ${n} % ${s.W};`,
        `const int th = ih + ${ph} - kh * ${dh}, tw = iw + ${pw} - kw * ${dw};`,
        `const int oh = th / ${sh}, ow = tw / ${sw};`,
      ],
      value:
        `(th >= 0 && tw >= 0 && th - oh * ${sh} == 0 && tw - ow * ${sw} == 0 && oh < ${s.OH} && ow < ${s.OW})` +
        ` ? dy[((b * ${s.O} + g * ${Og} + o) * ${s.OH} + oh) * ${s.OW} + ow] : (${T})0`,
    }),
    // dx[b, c, ih, iw] with c = g*Cg + m (per row) and (b, q = ih*W + iw) from n
    rowValues: out.rowValues,
    store: (m, n, v, i) => [
      `const int b = ${n} / ${s.H * s.W}, q = ${n} % ${s.H * s.W};`,
      ...out.store(() => ['b', `g * ${Cg} + ${m}`, `q / ${s.W}`, `q % ${s.W}`], v, `dx[(b * ${s.C} + g * ${Cg} + ${m}) * ${s.H * s.W} + q]`, i),
    ],
  });
  const [gx, gy] = tiledGrid(Cg, P);
  return { code, launches: [{ fn: name, grid: [gx, gy, g], block: 256, args: ['out', 0, 1, ...(epi?.args ?? [])] }], workspace: 0 };
}

/** How many K slices a weight gradient uses: enough blocks to fill a GPU, slices of >= 256. */
export function splitK(tiles: number, K: number): number {
  const want = Math.ceil(512 / Math.max(1, tiles));
  return Math.max(1, Math.min(64, want, Math.floor(K / 256)));
}

/** conv2dWeightGrad: dw from (x, dy); kernel args (x, dy), then the epilogue's. */
export function renderConvWeightGrad(name: string, T: TileType, s: ConvShape, epi: StoreEpilogue | null = null): RenderedLibrary {
  const { g, Cg, Og, sh, sw, ph, pw, dh, dw } = geometry(s);
  const Q = Cg * s.KH * s.KW;
  const K = s.N * s.OH * s.OW;
  const [gx, gy] = tiledGrid(Og, Q);
  const S = splitK(gx * gy * g, K);
  const chunk = Math.ceil(Math.ceil(K / S) / 16) * 16;
  const total = s.O * Q;
  // dw [O, Cg, KH, KW], row-major: the axes of flat element f (or of (g*Og + m, n)).
  const dims = [s.O, Cg, s.KH, s.KW];
  const out = tiledStore(S === 1 ? epi : null, (m) => new Map([[0, `g * ${Og} + ${m}`]]));
  const main = renderTiled({
    name: S > 1 ? `${name}_part` : name, T, M: Og, N: Q,
    params: [`${T} *__restrict__ dst`, `const ${T} *__restrict__ x`, `const ${T} *__restrict__ dy`, ...(S === 1 && epi ? epi.params : [])],
    prologue: [`const int g = blockIdx.z / ${S}, s = blockIdx.z % ${S};`],
    kBegin: `s * ${chunk}`, kEnd: `min(${K}, (s + 1) * ${chunk})`,
    // dy~[o, (b, oh, ow)]
    loadA: (m, k) => ({
      pre: [`const int b = ${k} / ${s.OH * s.OW}, q = ${k} % ${s.OH * s.OW};`],
      value: `dy[(b * ${s.O} + g * ${Og} + ${m}) * ${s.OH * s.OW} + q]`,
    }),
    // x~[(b, oh, ow), (c, kh, kw)]
    loadB: (k, n) => ({
      pre: [
        `const int b = ${k} / ${s.OH * s.OW}, oh = (${k} / ${s.OW}) % ${s.OH}, ow = ${k} % ${s.OW};`,
        `const int c = ${n} / ${s.KH * s.KW}, kh = (${n} / ${s.KW}) % ${s.KH}, kw = ${n} % ${s.KW};`,
        `const int ih = oh * ${sh} - ${ph} + kh * ${dh}, iw = ow * ${sw} - ${pw} + kw * ${dw};`,
      ],
      value: `(ih >= 0 && ih < ${s.H} && iw >= 0 && iw < ${s.W}) ? x[((b * ${s.C} + g * ${Cg} + c) * ${s.H} + ih) * ${s.W} + iw] : (${T})0`,
    }),
    rowValues: out.rowValues,
    store: (m, n, v, i) =>
      S > 1
        ? [`dst[s * ${total} + (g * ${Og} + ${m}) * ${Q} + ${n}] = ${v};`]
        : out.store(() => [`g * ${Og} + ${m}`, ...decodeAxes(n, dims.slice(1))], v, `dst[(g * ${Og} + ${m}) * ${Q} + ${n}]`, i),
  });
  if (S === 1) return { code: main, launches: [{ fn: name, grid: [gx, gy, g], block: 256, args: ['out', 0, 1, ...(epi?.args ?? [])] }], workspace: 0 };
  // Sum the S partial products in slice order (deterministic, unlike atomics); the epilogue
  // (which may read the op's operands too) applies to the sum.
  const epiParams = epi ? [`const ${T} *__restrict__ x`, `const ${T} *__restrict__ dy`, ...epi.params] : [];
  // No rows here (a flat loop): the epilogue's point-independent work is one row value.
  const site = epi?.site(new Map()) ?? null;
  const once = site?.computeRow('0') ?? [];
  const reduce = [
    `extern "C" __global__ void __launch_bounds__(256) ${name}(${[`${T} *__restrict__ dw`, `const ${T} *__restrict__ part`, ...epiParams].join(', ')}) {`,
    ...(once.length ? [...site!.declareRows(1), ...once] : []).map((l) => `  ${l}`),
    `  for (int f = blockIdx.x * blockDim.x + threadIdx.x; f < ${total}; f += gridDim.x * blockDim.x) {`,
    `    ${T} acc = part[f];`,
    `    for (int s = 1; s < ${S}; s++) acc += part[s * ${total} + f];`,
    ...storeLines(site, () => decodeAxes('f', dims), 'acc', 'dw[f]').map((l) => `    ${l}`),
    `  }`,
    `}`,
  ].join('\n');
  return {
    code: `${main}\n${reduce}`,
    launches: [
      { fn: `${name}_part`, grid: [gx, gy, g * S], block: 256, args: ['ws', 0, 1] },
      { fn: name, grid: [Math.min(1024, Math.ceil(total / 256)), 1, 1], block: 256, args: ['out', 'ws', ...(epi ? [0, 1, ...epi.args] : [])] },
    ],
    workspace: S * total,
  };
}
