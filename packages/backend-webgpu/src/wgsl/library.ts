// Library kernels in WGSL: the matmul and the three convolutions as tiled GEMMs (gemm.ts; the
// convolutions as implicit GEMMs), and, where no GEMM tiling fits the adapter's limits, the
// convolutions as direct loops (conv2d and its input gradient give one invocation per output
// element; the weight gradient, a long reduction into few outputs, a workgroup per element).
// Each stores every output element once, from one invocation, through the kernel's epilogue
// (epilogue.ts) when the scheduler folded elementwise work into it.
import type { ConvParams, LibraryKernel, LibraryParams } from '@resgrad/core';
import { declareBindings, loadArg, type BindingLayout } from './bindings.js';
import { wgslType } from './dialect.js';
import { ENTRY_ARGS, gridFor, GROUP_INDEX } from './dispatch.js';
import { axesOf, renderEpilogue, type EpilogueCode } from './epilogue.js';
import { BASELINE_SHADER_FEATURES, type ShaderFeatures } from './features.js';
import { reductionWorkgroup, type RenderedShader, type RenderLimits } from './fused.js';
import { divConst } from './divide.js';
import { GEMM_BK, GEMM_MAX_TILE, gemmTiles, renderGemm, tileElementBytes, type GemmGather } from './gemm.js';
import { WGSL_PRELUDE } from './prelude.js';
import { folder, workgroupCombine } from './reduce.js';

/**
 * Renders library kernel `k` with argument bindings `layout` within the adapter's `limits`;
 * `features` says which optional WGSL capabilities it may use (default: none).
 */
export function renderLibrary(
  k: LibraryKernel,
  layout: BindingLayout,
  limits: RenderLimits,
  name = 'kernel',
  features: ShaderFeatures = BASELINE_SHADER_FEATURES,
): RenderedShader {
  const epi = renderEpilogue(k, layout);
  const shader = renderOp(k, layout, limits, name, features, epi);
  return k.epilogue ? { ...shader, what: `${shader.what} + epilogue` } : shader;
}

function renderOp(k: LibraryKernel, layout: BindingLayout, limits: RenderLimits, name: string, features: ShaderFeatures, epi: EpilogueCode): RenderedShader {
  const gemm = renderLibraryGemm(k, layout, limits, name, features, epi);
  if (gemm) return gemm;
  switch (k.op) {
    case 'dot':
      throw new Error(`@resgrad/backend-webgpu: ${name}: no matmul tiling fits the adapter's limits (${limits.maxComputeInvocationsPerWorkgroup} invocations, ${limits.maxComputeWorkgroupStorageSize} bytes of workgroup storage, ${limits.maxComputeWorkgroupsPerDimension} workgroups per dimension)`);
    case 'conv2d':
      return renderConv2d(k as LibraryKernel<'conv2d'>, layout, limits, name, epi);
    case 'conv2dInputGrad':
      return renderConvInputGrad(k as LibraryKernel<'conv2dInputGrad'>, layout, limits, name, epi);
    case 'conv2dWeightGrad':
      return renderConvWeightGrad(k as LibraryKernel<'conv2dWeightGrad'>, layout, limits, name, features.subgroups, epi);
  }
}

/**
 * The matmul and the convolutions as one tiled GEMM (see gemm.ts): the convolutions as implicit
 * GEMMs whose operands are gathered from the image, weights and output gradient by index. Null
 * when no tiling fits the adapter's limits (the direct kernels below then run).
 */
function renderLibraryGemm(k: LibraryKernel, layout: BindingLayout, limits: RenderLimits, name: string, features: ShaderFeatures, epi: EpilogueCode): RenderedShader | null {
  const t = wgslType(k.dtype, `kernel ${name} (${k.op})`);
  if (k.op !== 'dot' && t !== 'f32') return null;
  // reduced-precision tiles apply to float32 products only (an int32 matmul stays exact)
  const tileFormat = t === 'f32' ? features.gemmTiles : 'f32';
  const A = (i: string) => loadArg(layout, 0, i);
  const B = (i: string) => loadArg(layout, 1, i);
  // Where C[z][m][n] goes: `out` describes the output position of column n (`column`: lets
  // from n and z, once per column) and row m (`index`: the flat output index, `axes`: the
  // output's multi-index, which the epilogue takes).
  const epilogue = k.epilogue !== undefined;
  const build = (M: number, N: number, K: number, Z: number, loadA: string | GemmGather, loadB: string | GemmGather, out: OutputMap, what: string): RenderedShader | null => {
    const tiles = gemmTiles(M, N, Z, limits, tileElementBytes(tileFormat));
    if (!tiles) return null;
    const store = (m: string, v: string) => epi.store(out.index(m), out.axes(m), v);
    const { code, grid, directives } = renderGemm({ M, N, K, Z, t, loadA, loadB, storeColumn: out.column, store, tileFormat }, tiles);
    const tag = tileFormat === 'f32' ? '' : ` ${tileFormat} tiles`;
    return { code: `${[...directives, ''].join('\n')}${head(layout, k, epi)}\n${code}`, grid, what: `${what} (gemm ${tiles.BM}x${tiles.BN}x${tiles.BK}${tag})` };
  };
  if (k.op === 'dot') {
    const [as, bs] = k.argShapes as [readonly number[], readonly number[]];
    const r = as.length;
    const M = as[r - 2]!;
    const K = as[r - 1]!;
    const N = bs[r - 1]!;
    const batch = as.slice(0, r - 2).reduce((a, b) => a * b, 1);
    return build(M, N, K, batch,
      `  return ${A(`z * ${M * K}i + m * ${K}i + k`)};`,
      `  return ${B(`z * ${K * N}i + k * ${N}i + n`)};`,
      { column: [], index: (m) => `z * ${M * N}i + ${m} * ${N}i + n`, axes: (m) => [...axesOf('z', as.slice(0, r - 2)), m, 'n'] },
      `${name}: dot [${batch}] ${M}x${K} @ ${K}x${N}`);
  }
  if (k.op === 'conv2d') {
    const [xs, ws] = k.argShapes as [readonly number[], readonly number[]];
    const d = convDims(xs, ws, k.shape, k.params as ConvParams);
    const KK = d.KH * d.KW;
    const OHW = d.OH * d.OW;
    const N = d.N * OHW;
    const K = d.Cg * KK;
    // y[n, g*Og + m, oh, ow] = sum over k = (c, kh, kw) of w[g*Og + m, k] * x[n, g*Cg + c, ih, iw]; column = (n, oh, ow)
    return build(d.Og, N, K, d.O / d.Og,
      `  return ${B(`(z * ${d.Og}i + m) * ${K}i + k`)};`,
      {
        outer: { lets: [...pixelDecode('n', d.OW, d.OH, outerMax(N)), `let xb = (nb * ${d.C}i + z * ${d.Cg}i) * ${d.H * d.W}i;`, `let ihb = pr * ${d.sh}i - ${d.ph}i;`, `let iwb = pc * ${d.sw}i - ${d.pw}i;`], fields: ['xb', 'ihb', 'iwb'] },
        inner: kernelDecode(d, kMax(K), d.H * d.W, 'xc'),
        value: imageTap(d, A),
      },
      {
        column: [`let b = n / ${OHW}i;`, `let p = n % ${OHW}i;`, ...(epilogue ? [`let oh = p / ${d.OW}i;`, `let ow = p % ${d.OW}i;`] : [])],
        index: (m) => `(b * ${d.O}i + z * ${d.Og}i + ${m}) * ${OHW}i + p`,
        axes: (m) => ['b', `z * ${d.Og}i + ${m}`, 'oh', 'ow'],
      },
      `${name}: conv2d x[${xs.join(', ')}] w[${ws.join(', ')}]`);
  }
  if (k.op === 'conv2dInputGrad') {
    const [ys, ws] = k.argShapes as [readonly number[], readonly number[]];
    const p = k.params as LibraryParams['conv2dInputGrad'];
    const d = convDims(p.inputShape, ws, ys, p);
    const KK = d.KH * d.KW;
    const HW = d.H * d.W;
    const N = d.N * HW;
    const K = d.Og * KK;
    const taps = [`let th = thb - khd;`, `let tw = twb - kwd;`, `if (th < 0i || tw < 0i) { return 0.0f; }`, `let oh = ${divConst('th', d.sh, d.H + d.ph)};`, `let ow = ${divConst('tw', d.sw, d.W + d.pw)};`];
    const misses = [...(d.sh > 1 ? [`oh * ${d.sh}i != th`] : []), ...(d.sw > 1 ? [`ow * ${d.sw}i != tw`] : []), `oh >= ${d.OH}i`, `ow >= ${d.OW}i`];
    // dx[n, g*Cg + m, ih, iw] = sum over k = (o, kh, kw) of w[g*Og + o, m, kh, kw] * dy[n, g*Og + o, oh, ow]
    // where oh*sh = ih + ph - kh*dh exactly (likewise ow); column = (n, ih, iw)
    return build(d.Cg, N, K, d.O / d.Og,
      {
        outer: { lets: [], fields: [] },
        inner: { lets: [`let ko = ${divConst('k', KK, kMax(K))};`, `let wk = (z * ${d.Og}i + ko) * ${d.Cg * KK}i + (k - ${KK}i * ko);`], fields: ['wk'] },
        value: `  return ${B(`wk + m * ${KK}i`)};`,
      },
      {
        outer: { lets: [...pixelDecode('n', d.W, d.H, outerMax(N)), `let yb = (nb * ${d.O}i + z * ${d.Og}i) * ${d.OH * d.OW}i;`, `let thb = pr + ${d.ph}i;`, `let twb = pc + ${d.pw}i;`], fields: ['yb', 'thb', 'twb'] },
        inner: kernelDecode(d, kMax(K), d.OH * d.OW, 'yo'),
        value: [...taps, `if (${misses.join(' || ')}) { return 0.0f; }`, `return ${A(`yb + yo + oh * ${d.OW}i + ow`)};`].map((l) => `  ${l}`).join('\n'),
      },
      {
        column: [`let b = n / ${HW}i;`, `let p = n % ${HW}i;`, ...(epilogue ? [`let ih = p / ${d.W}i;`, `let iw = p % ${d.W}i;`] : [])],
        index: (m) => `(b * ${d.C}i + z * ${d.Cg}i + ${m}) * ${HW}i + p`,
        axes: (m) => ['b', `z * ${d.Cg}i + ${m}`, 'ih', 'iw'],
      },
      `${name}: conv2dInputGrad dy[${ys.join(', ')}] w[${ws.join(', ')}]`);
  }
  if (k.op === 'conv2dWeightGrad') {
    const [xs, ys] = k.argShapes as [readonly number[], readonly number[]];
    const p = k.params as LibraryParams['conv2dWeightGrad'];
    const d = convDims(xs, p.weightShape, ys, p);
    const KK = d.KH * d.KW;
    const OHW = d.OH * d.OW;
    const N = d.Cg * KK;
    const K = d.N * OHW;
    // dw[g*Og + m, c, kh, kw] = sum over k = (n, oh, ow) of dy[n, g*Og + m, oh, ow] * x[n, g*Cg + c, ih, iw]; column = (c, kh, kw)
    return build(d.Og, N, K, d.O / d.Og,
      {
        outer: { lets: [`let ym = (z * ${d.Og}i + m) * ${OHW}i;`], fields: ['ym'] },
        inner: { lets: [`let kb = ${divConst('k', OHW, kMax(K))};`, `let yk = kb * ${d.O * OHW}i + (k - ${OHW}i * kb);`], fields: ['yk'] },
        value: `  return ${B('yk + ym')};`,
      },
      {
        outer: kernelDecode(d, outerMax(N), d.H * d.W, 'xc', 'n', d.Cg),
        inner: { lets: [...pixelDecode('k', d.OW, d.OH, kMax(K)), `let xb = nb * ${d.C * d.H * d.W}i;`, `let ihb = pr * ${d.sh}i - ${d.ph}i;`, `let iwb = pc * ${d.sw}i - ${d.pw}i;`], fields: ['xb', 'ihb', 'iwb'] },
        value: imageTap(d, A),
      },
      {
        column: epilogue ? [`let c = n / ${KK}i;`, `let kk = n % ${KK}i;`, `let kh = kk / ${d.KW}i;`, `let kw = kk % ${d.KW}i;`] : [],
        index: (m) => `(z * ${d.Og}i + ${m}) * ${d.Cg * KK}i + n`,
        axes: (m) => [`z * ${d.Og}i + ${m}`, 'c', 'kh', 'kw'],
      },
      `${name}: conv2dWeightGrad x[${xs.join(', ')}] dy[${ys.join(', ')}]`);
  }
  return null;
}

/** The largest column (row) index a GEMM gather decodes: the extent rounded up to a tile. */
const outerMax = (extent: number) => extent + GEMM_MAX_TILE - 1;
/** The largest k a GEMM gather decodes: K rounded up to BK. */
const kMax = (K: number) => K + GEMM_BK - 1;

/**
 * Lets decoding index `i` (0 <= i <= max) of a (batch, row, column) pixel with `cols` columns
 * and `rows` rows: `nb`, `pr`, `pc` (and nq = i / cols).
 */
function pixelDecode(i: string, cols: number, rows: number, max: number): string[] {
  return [`let nq = ${divConst(i, cols, max)};`, `let pc = ${i} - ${cols}i * nq;`, `let nb = ${divConst('nq', rows, Math.floor(max / cols))};`, `let pr = nq - ${rows}i * nb;`];
}

/**
 * Decodes index `i` (0 <= i <= max) of a kernel tap (channel kc, kh, kw) into fields `base`,
 * the channel's offset (kc, or z * group + kc with `group`, times `stride`), `khd` and `kwd`
 * (kh * dh, kw * dw).
 */
function kernelDecode(d: ConvDims, max: number, stride: number, base: string, i = 'k', group = 0): GemmGather['inner'] {
  const channel = group ? `(z * ${group}i + kc)` : 'kc';
  return {
    lets: [`let kq = ${divConst(i, d.KW, max)};`, `let kw = ${i} - ${d.KW}i * kq;`, `let kc = ${divConst('kq', d.KH, Math.floor(max / d.KW))};`, `let kh = kq - ${d.KH}i * kc;`, `let ${base} = ${channel} * ${stride}i;`, `let khd = kh * ${d.dh}i;`, `let kwd = kw * ${d.dw}i;`],
    fields: [base, 'khd', 'kwd'],
  };
}

/** The body loading x at (image offset xb + channel offset xc, ihb + khd, iwb + kwd), 0 outside the image (padding). */
const imageTap = (d: ConvDims, X: (i: string) => string) =>
  [`let ih = ihb + khd;`, `let iw = iwb + kwd;`, `if (ih < 0i || ih >= ${d.H}i || iw < 0i || iw >= ${d.W}i) { return 0.0f; }`, `return ${X(`xb + xc + ih * ${d.W}i + iw`)};`].map((l) => `  ${l}`).join('\n');

/**
 * Where a GEMM's C[z][m][n] lands in the library op's output: `column`, statements defining
 * locals from n and z (run once per column of an invocation's block); `index(m)` and `axes(m)`,
 * the flat output index and the output's multi-index at row m (a parenthesised expression) in
 * terms of those locals.
 */
interface OutputMap {
  readonly column: readonly string[];
  readonly index: (m: string) => string;
  readonly axes: (m: string) => string[];
}

/** The prelude, the bindings and the epilogue function (if any) of a library shader. */
const head = (layout: BindingLayout, k: LibraryKernel, epi: EpilogueCode) =>
  [WGSL_PRELUDE, ...declareBindings(layout, k.dtype), '', ...(epi.decl ? [epi.decl, ''] : [])].join('\n');

interface ConvDims {
  N: number; C: number; H: number; W: number;
  O: number; Cg: number; KH: number; KW: number;
  OH: number; OW: number; Og: number;
  sh: number; sw: number; dh: number; dw: number; ph: number; pw: number;
}

function convDims(x: readonly number[], w: readonly number[], y: readonly number[], p: ConvParams): ConvDims {
  const [N, C, H, W] = x as [number, number, number, number];
  const [O, Cg, KH, KW] = w as [number, number, number, number];
  const [, , OH, OW] = y as [number, number, number, number];
  return {
    N, C, H, W, O, Cg, KH, KW, OH, OW, Og: O / p.groups,
    sh: p.stride[0], sw: p.stride[1], dh: p.dilation[0], dw: p.dilation[1], ph: p.padding[0][0], pw: p.padding[1][0],
  };
}

const WG = 64;

/** One invocation per output element: y[n,o,oh,ow] = sum over c, kh, kw of x * w. */
function renderConv2d(k: LibraryKernel<'conv2d'>, layout: BindingLayout, limits: RenderLimits, name: string, epi: EpilogueCode): RenderedShader {
  const [xs, ws] = k.argShapes as [readonly number[], readonly number[]];
  const d = convDims(xs, ws, k.shape, k.params);
  const total = d.N * d.O * d.OH * d.OW;
  const code = `${head(layout, k, epi)}
@compute @workgroup_size(${WG})
fn main(${ENTRY_ARGS}) {
  let yi: i32 = i32(${GROUP_INDEX} * ${WG}u + lid);
  if (yi >= ${total}i) { return; }
  let ow = yi % ${d.OW}i;
  let oh = (yi / ${d.OW}i) % ${d.OH}i;
  let o = (yi / ${d.OW * d.OH}i) % ${d.O}i;
  let n = yi / ${d.OW * d.OH * d.O}i;
  let g = o / ${d.Og}i;
  var acc: f32 = 0.0f;
  for (var c: i32 = 0i; c < ${d.Cg}i; c++) {
    let xc = (n * ${d.C}i + g * ${d.Cg}i + c) * ${d.H}i;
    let wc = (o * ${d.Cg}i + c) * ${d.KH}i;
    for (var kh: i32 = 0i; kh < ${d.KH}i; kh++) {
      let ih = oh * ${d.sh}i - ${d.ph}i + kh * ${d.dh}i;
      if (ih < 0i || ih >= ${d.H}i) { continue; }
      for (var kw: i32 = 0i; kw < ${d.KW}i; kw++) {
        let iw = ow * ${d.sw}i - ${d.pw}i + kw * ${d.dw}i;
        if (iw < 0i || iw >= ${d.W}i) { continue; }
        acc += ${loadArg(layout, 0, `(xc + ih) * ${d.W}i + iw`)} * ${loadArg(layout, 1, `(wc + kh) * ${d.KW}i + kw`)};
      }
    }
  }
  ${epi.store('yi', ['n', 'o', 'oh', 'ow'], 'acc')}
}
`;
  return { code, grid: gridFor(Math.ceil(total / WG), limits.maxComputeWorkgroupsPerDimension), what: `${name}: conv2d x[${xs.join(', ')}] w[${ws.join(', ')}]` };
}

/**
 * One invocation per input element: dx[n,ci,ih,iw] gathers dy[n,o,oh,ow] * w[o,c,kh,kw] over
 * the output positions whose window covers (ih, iw): oh = (ih + ph - kh*dh) / sh when exact.
 */
function renderConvInputGrad(k: LibraryKernel<'conv2dInputGrad'>, layout: BindingLayout, limits: RenderLimits, name: string, epi: EpilogueCode): RenderedShader {
  const [ys, ws] = k.argShapes as [readonly number[], readonly number[]];
  const p = k.params as LibraryParams['conv2dInputGrad'];
  const d = convDims(p.inputShape, ws, ys, p);
  const total = d.N * d.C * d.H * d.W;
  const code = `${head(layout, k, epi)}
@compute @workgroup_size(${WG})
fn main(${ENTRY_ARGS}) {
  let xi: i32 = i32(${GROUP_INDEX} * ${WG}u + lid);
  if (xi >= ${total}i) { return; }
  let iw = xi % ${d.W}i;
  let ih = (xi / ${d.W}i) % ${d.H}i;
  let ci = (xi / ${d.W * d.H}i) % ${d.C}i;
  let n = xi / ${d.W * d.H * d.C}i;
  let g = ci / ${d.Cg}i;
  let c = ci % ${d.Cg}i;
  var acc: f32 = 0.0f;
  for (var oo: i32 = 0i; oo < ${d.Og}i; oo++) {
    let o = g * ${d.Og}i + oo;
    for (var kh: i32 = 0i; kh < ${d.KH}i; kh++) {
      let th = ih + ${d.ph}i - kh * ${d.dh}i;
      if (th < 0i || th % ${d.sh}i != 0i) { continue; }
      let oh = th / ${d.sh}i;
      if (oh >= ${d.OH}i) { continue; }
      for (var kw: i32 = 0i; kw < ${d.KW}i; kw++) {
        let tw = iw + ${d.pw}i - kw * ${d.dw}i;
        if (tw < 0i || tw % ${d.sw}i != 0i) { continue; }
        let ow = tw / ${d.sw}i;
        if (ow >= ${d.OW}i) { continue; }
        acc += ${loadArg(layout, 0, `((n * ${d.O}i + o) * ${d.OH}i + oh) * ${d.OW}i + ow`)} * ${loadArg(layout, 1, `((o * ${d.Cg}i + c) * ${d.KH}i + kh) * ${d.KW}i + kw`)};
      }
    }
  }
  ${epi.store('xi', ['n', 'ci', 'ih', 'iw'], 'acc')}
}
`;
  return { code, grid: gridFor(Math.ceil(total / WG), limits.maxComputeWorkgroupsPerDimension), what: `${name}: conv2dInputGrad dy[${ys.join(', ')}] w[${ws.join(', ')}]` };
}

/** Below this many terms per weight element, one invocation sums them (no workgroup tree). */
const WEIGHT_GRAD_LOOP_TERMS = 4096;

/**
 * dw[o,c,kh,kw] = sum over n, oh, ow of x * dy. With few terms per weight element (deep layers:
 * small images, many weights), one invocation per element loops over them; with many (early
 * layers: large images, few weights), a workgroup per element folds strided shares and
 * combines them (reduce.ts: subgroup operations when `subgroups`, else a tree in workgroup
 * memory). (SwiftShader took 30 s for a 64x64x3x3 weight gradient over 32 terms with a
 * 256-wide workgroup per element: idle lanes and emulated barriers.)
 */
function renderConvWeightGrad(
  k: LibraryKernel<'conv2dWeightGrad'>,
  layout: BindingLayout,
  limits: RenderLimits,
  name: string,
  subgroups: boolean,
  epi: EpilogueCode,
): RenderedShader {
  const [xs, ys] = k.argShapes as [readonly number[], readonly number[]];
  const p = k.params as LibraryParams['conv2dWeightGrad'];
  const d = convDims(xs, p.weightShape, ys, p);
  const total = d.O * d.Cg * d.KH * d.KW;
  const terms = d.N * d.OH * d.OW;
  const term = (t: string) => `
    let ow = ${t} % ${d.OW}i;
    let oh = (${t} / ${d.OW}i) % ${d.OH}i;
    let n = ${t} / ${d.OW * d.OH}i;
    let ih = oh * ${d.sh}i - ${d.ph}i + kh * ${d.dh}i;
    let iw = ow * ${d.sw}i - ${d.pw}i + kw * ${d.dw}i;
    if (ih < 0i || ih >= ${d.H}i || iw < 0i || iw >= ${d.W}i) { continue; }
    acc += ${loadArg(layout, 0, `((n * ${d.C}i + ci) * ${d.H}i + ih) * ${d.W}i + iw`)} * ${loadArg(layout, 1, `((n * ${d.O}i + o) * ${d.OH}i + oh) * ${d.OW}i + ow`)};`;
  const decodeW = (wi: string) => `
  let kw = ${wi} % ${d.KW}i;
  let kh = (${wi} / ${d.KW}i) % ${d.KH}i;
  let c = (${wi} / ${d.KW * d.KH}i) % ${d.Cg}i;
  let o = ${wi} / ${d.KW * d.KH * d.Cg}i;
  let ci = (o / ${d.Og}i) * ${d.Cg}i + c;`;
  const what = `${name}: conv2dWeightGrad x[${xs.join(', ')}] dy[${ys.join(', ')}]`;
  if (terms <= WEIGHT_GRAD_LOOP_TERMS) {
    const code = `${head(layout, k, epi)}
@compute @workgroup_size(${WG})
fn main(${ENTRY_ARGS}) {
  let wi: i32 = i32(${GROUP_INDEX} * ${WG}u + lid);
  if (wi >= ${total}i) { return; }${decodeW('wi')}
  var acc: f32 = 0.0f;
  for (var t: i32 = 0i; t < ${terms}i; t++) {${term('t')}
  }
  ${epi.store('wi', ['o', 'c', 'kh', 'kw'], 'acc')}
}
`;
    return { code, grid: gridFor(Math.ceil(total / WG), limits.maxComputeWorkgroupsPerDimension), what };
  }
  const wg = reductionWorkgroup(limits);
  const combine = workgroupCombine(folder('sum', 'float32'), wg, subgroups);
  const code = `${[...combine.directives, ''].join('\n')}${head(layout, k, epi)}
${combine.decls.join('\n')}

@compute @workgroup_size(${wg})
fn main(${ENTRY_ARGS}${combine.params}) {
  let wi: i32 = i32${GROUP_INDEX};
  if (wi >= ${total}i) { return; }${decodeW('wi')}
  var acc: f32 = 0.0f;
  for (var t: i32 = i32(lid); t < ${terms}i; t += ${wg}i) {${term('t')}
  }
${combine.lines.map((l) => `  ${l}`).join('\n')}
  ${epi.store('wi', ['o', 'c', 'kh', 'kw'], 'red')}
}
`;
  return { code, grid: gridFor(total, limits.maxComputeWorkgroupsPerDimension), what };
}
