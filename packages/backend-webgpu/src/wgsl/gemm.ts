// A generic tiled GEMM in WGSL, the engine of the matmul and of the three convolutions
// (implicit GEMM: the convolution's operands are gathered on the fly, never materialised).
// C[z][m][n] = sum over k of A(m, k, z) * B(k, n, z), with A and B given as WGSL function
// bodies and the store of C as statements per column of an invocation's block (what depends on
// the column alone, such as a convolution's image and pixel decoded from n, is computed once for
// its four rows). Each workgroup computes a BM x BN block of C, staging BK-deep slices
// of A and B in workgroup memory as vec4s; each invocation accumulates a 4 x 4 block of C in
// four vec4 registers (register blocking), the BK steps of the product unrolled in the
// generated code (SwiftShader's Subzero JIT neither unrolls loops nor keeps indexed arrays in
// registers: the previous matmul, with a loop-indexed accumulator array, ran at 0.1 GFLOP/s).
//
// Gathered operands (the implicit-GEMM convolutions): an operand may be given as a
// {@link GemmGather}, its index decoding split into what depends on its outer index alone (A's
// row m, B's column n: decoded once per invocation before the K loop, since an invocation
// stages the same four rows or columns at every k0) and what depends on k alone (decoded once
// per staged group of four elements instead of once per element). Only the index arithmetic
// moves: the values staged, and so the products and their order, are the same.
//
// Reduced precision (opt-in, float32 products only): the tiles may be stored as f16 while the
// products and sums stay f32. A product of two f16 values (11-bit significands) is exact in f32
// (24 bits), so the only rounding added to the f32 path is each operand's conversion to f16:
// a relative error of at most 2^-10 (WGSL lets the conversion round either way), values below
// 2^-14 lose precision (f16 subnormals, which may be flushed to zero), and values beyond
// 65504 leave f16's range (infinity or an indeterminate value). Each term a*b thus carries a
// relative error below 2^-9 (plus the underflow above), against 2^-24 in f32: the choice of
// PyTorch's allow_fp16_reduced_precision / JAX's matmul precision, off by default.
import type { RenderLimits } from './fused.js';
import type { Grid } from './dispatch.js';
import { F16_DIRECTIVES, type GemmTileFormat } from './features.js';

/** Index decoding for a gathered operand: `lets` computing i32 `fields` (by name). */
export interface GemmIndexDecode {
  /** Statements (`let`s) that may use the index and `z`. */
  readonly lets: readonly string[];
  /** The names, declared by `lets`, handed to the element function. */
  readonly fields: readonly string[];
}

/**
 * An operand gathered by index, its decoding split by what it depends on; `value` is the body of
 * the element function, which may use the fields of both decodes, k, the outer index and z.
 */
export interface GemmGather {
  /** From the outer index (`m` for A, `n` for B) and `z`; evaluated for any index below the extent rounded up to the tile. */
  readonly outer: GemmIndexDecode;
  /** From `k` and `z`; evaluated for any k below K rounded up to a multiple of BK. */
  readonly inner: GemmIndexDecode;
  /** Body returning the element (called only with m < M, k < K and n < N). */
  readonly value: string;
}

export interface GemmSpec {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** Independent products (batch, or groups); workgroup z. */
  readonly Z: number;
  /** The WGSL element type (f32 or i32). */
  readonly t: string;
  /** Body of `fn gemm_a(m: i32, k: i32, z: i32) -> t`, called only with m < M and k < K; or a gather. */
  readonly loadA: string | GemmGather;
  /** Body of `fn gemm_b(k: i32, n: i32, z: i32) -> t`, called only with k < K and n < N; or a gather. */
  readonly loadB: string | GemmGather;
  /**
   * Statements run once per column `n` of an invocation's block (in `fn gemm_store_col(m: i32,
   * n: i32, z: i32, v: vec4<t>)`, called only with n < N and m < M): typically `let`s decoding n.
   */
  readonly storeColumn: readonly string[];
  /** The statement storing value `v` at row `m` (WGSL expressions) of the column, m < M. */
  readonly store: (m: string, v: string) => string;
  /** How the workgroup tiles are stored (default 'f32': as `t`); 'f16' formats need t = f32. */
  readonly tileFormat?: GemmTileFormat;
}

/** How 4 consecutive tile elements are stored in workgroup memory and read back as vec4<t>. */
interface TileCodec {
  /** The WGSL type of one stored group of 4. */
  readonly type: string;
  /** The stored form of `v` (a vec4<t>). */
  readonly encode: (v: string) => string;
  /** The vec4<t> of stored group `x`. */
  readonly decode: (x: string) => string;
  readonly directives: readonly string[];
}

function tileCodec(format: GemmTileFormat, t: string): TileCodec {
  if (format !== 'f32' && t !== 'f32')
    throw new Error(`@resgrad/backend-webgpu: renderGemm: '${format}' tiles need an f32 GEMM, got element type ${t}`);
  switch (format) {
    case 'f32':
      return { type: `vec4<${t}>`, encode: (v) => v, decode: (x) => x, directives: [] };
    case 'f16':
      return { type: 'vec4<f16>', encode: (v) => `vec4<f16>(${v})`, decode: (x) => `vec4<f32>(${x})`, directives: F16_DIRECTIVES };
    case 'f16-packed':
      // pack2x16float rounds each f32 to f16 as the f16 conversion does (out-of-range values
      // give an indeterminate word rather than infinity); unpack2x16float widens exactly.
      return {
        type: 'vec2<u32>',
        encode: (v) => `vec2<u32>(pack2x16float(${v}.xy), pack2x16float(${v}.zw))`,
        decode: (x) => `vec4<f32>(unpack2x16float(${x}.x), unpack2x16float(${x}.y))`,
        directives: [],
      };
  }
}

/** Bytes of workgroup memory per tile element in `format` (for {@link gemmTiles}). */
export function tileElementBytes(format: GemmTileFormat): number {
  return format === 'f32' ? 4 : 2;
}

/** The largest BM and BN {@link gemmTiles} chooses, and its BK. */
export const GEMM_MAX_TILE = 64;
export const GEMM_BK = 16;

export interface GemmTiles {
  readonly BM: number;
  readonly BN: number;
  readonly BK: number;
}

const TM = 4;
const TN = 4;

/**
 * Tile sizes for an M x N (x Z) product within the adapter's limits, or null when none fits;
 * `elementBytes` is the workgroup storage of one tile element (4, or 2 for f16 tiles).
 */
export function gemmTiles(M: number, N: number, Z: number, limits: RenderLimits, elementBytes = 4): GemmTiles | null {
  const BK = GEMM_BK;
  let BM = M <= 16 ? 16 : M <= 32 ? 32 : GEMM_MAX_TILE;
  let BN = N <= 16 ? 16 : N <= 32 ? 32 : GEMM_MAX_TILE;
  const maxThreads = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const fits = () => (BM / TM) * (BN / TN) <= maxThreads && (BM + BN) * BK * elementBytes <= limits.maxComputeWorkgroupStorageSize;
  // enough workgroups to spread over the device's cores when the product is small
  const groups = () => Math.ceil(M / BM) * Math.ceil(N / BN) * Z;
  while (groups() < 16 && BN > 16) BN /= 2;
  while (groups() < 16 && BM > 16) BM /= 2;
  while (!fits() && (BM > 16 || BN > 16)) {
    if (BN >= BM) BN /= 2;
    else BM /= 2;
  }
  if (!fits()) return null;
  const max = limits.maxComputeWorkgroupsPerDimension;
  if (Math.ceil(N / BN) > max || Math.ceil(M / BM) > max || Z > max) return null;
  return { BM, BN, BK };
}

/**
 * The WGSL (after the prelude and bindings), the module directives it needs (first in the
 * module) and the grid of `spec` with tiles `tiles`.
 */
export function renderGemm(spec: GemmSpec, tiles: GemmTiles): { code: string; grid: Grid; directives: readonly string[] } {
  const { M, N, K, Z, t } = spec;
  const codec = tileCodec(spec.tileFormat ?? 'f32', t);
  const { BM, BN, BK } = tiles;
  const WX = BN / TN;
  const WY = BM / TM;
  const threads = WX * WY;
  const BM4 = BM / 4;
  const BN4 = BN / 4;
  const v4 = `vec4<${t}>`;
  const zero = `${t}(0)`;
  // staging: BK x BM/4 vec4s of A (4 rows at one k) and BK x BN/4 of B (4 columns at one k), a
  // loop over rounds of the workgroup (unrolled as well as the product below, SwiftShader's
  // pipeline compilation ran for minutes)
  const stage = (items: number, load: (e: string) => string) => {
    return `    for (var e: i32 = i32(lid); e < ${items}i; e += ${threads}i) {\n      ${load('e')}\n    }`;
  };
  const checkM = M % BM !== 0;
  const checkN = N % BN !== 0;
  const checkK = K % BK !== 0;
  const cond = (parts: string[]) => parts.filter(Boolean).join(' && ');
  // A (rows m, 4 per group, BM4 groups) and B (columns n, BN4 groups) alike: operand `x`
  const operand = (x: 'a' | 'b') => {
    const isA = x === 'a';
    const load = isA ? spec.loadA : spec.loadB;
    const G = isA ? BM4 : BN4; // groups of 4 along the outer index
    const tile = isA ? 'tA' : 'tB';
    const o0 = isA ? 'row0' : 'col0';
    const checkO = isA ? checkM : checkN;
    const extent = isA ? 'M_' : 'N_';
    const call = (o: string, i: number, extra: string) => (isA ? `gemm_a(${o} + ${i}i, k, z${extra})` : `gemm_b(k, ${o} + ${i}i, z${extra})`);
    const elements = (o: string, extra: (i: number) => string) => {
      const parts: string[] = [];
      const kOk = checkK ? 'k < K_' : '';
      for (let i = 0; i < 4; i++) {
        const c = cond([kOk, checkO ? `${o} + ${i}i < ${extent}` : '']);
        parts.push(c ? `if (${c}) { v[${i}] = ${call(o, i, extra(i))}; }` : `v[${i}] = ${call(o, i, extra(i))};`);
      }
      return parts.join(' ');
    };
    const sig = isA ? 'm: i32, k: i32, z: i32' : 'k: i32, n: i32, z: i32';
    if (typeof load === 'string') {
      const tileLoad = (e: string) =>
        `let k = k0 + (${e} / ${G}i); let o = ${o0} + (${e} % ${G}i) * 4i; var v = ${v4}(${zero}); ${elements('o', () => '')} ${tile}[${e}] = ${codec.encode('v')};`;
      return { fns: `fn gemm_${x}(${sig}) -> ${t} {\n${load}\n}\n`, before: '', stage: stage(BK * G, tileLoad) };
    }
    // gathered: an invocation stages the same 4 rows (columns) at every k0, as the invocation
    // count is a multiple of the groups (threads = BM4 * BN4): group lid % G, at the k offsets
    // lid / G + r * (threads / G), r < rounds
    const step = threads / G;
    const rounds = (BK * G) / threads;
    if (!Number.isInteger(rounds)) throw new Error(`@resgrad/backend-webgpu: renderGemm: tiles ${BM}x${BN}x${BK} do not stage whole rounds`);
    const O = isA ? 'GemmAOuter' : 'GemmBOuter';
    const I = isA ? 'GemmAInner' : 'GemmBInner';
    const oi = isA ? 'm' : 'n';
    const struct = (name: string, d: GemmIndexDecode) => `struct ${name} { ${d.fields.map((n) => `${n}: i32`).join(', ')} }\n`;
    const maker = (name: string, fn: string, param: string, d: GemmIndexDecode) =>
      `fn ${fn}(${param}: i32, z: i32) -> ${name} {\n${d.lets.map((l) => `  ${l}`).join('\n')}\n  return ${name}(${d.fields.join(', ')});\n}\n`;
    const hasO = load.outer.fields.length > 0;
    const hasI = load.inner.fields.length > 0;
    const fns = [
      hasO ? struct(O, load.outer) + maker(O, `gemm_${x}_outer`, oi, load.outer) : '',
      hasI ? struct(I, load.inner) + maker(I, `gemm_${x}_inner`, 'k', load.inner) : '',
      `fn gemm_${x}(${sig}${hasO ? `, go: ${O}` : ''}${hasI ? `, gi: ${I}` : ''}) -> ${t} {\n`,
      ...load.outer.fields.map((n) => `  let ${n} = go.${n};\n`),
      ...load.inner.fields.map((n) => `  let ${n} = gi.${n};\n`),
      `${load.value}\n}\n`,
    ].join('');
    const before = [
      `  let ${x}g: i32 = i32(lid % ${G}u);`,
      `  let ${x}kk: i32 = i32(lid / ${G}u);`,
      `  let ${x}o: i32 = ${o0} + ${x}g * 4i;`,
      ...(hasO ? [0, 1, 2, 3].map((i) => `  let ${x}o${i} = gemm_${x}_outer(${x}o + ${i}i, z);`) : []),
    ].join('\n');
    const body = (kk: string) =>
      `let k = k0 + ${kk}; ${hasI ? `let gi = gemm_${x}_inner(k, z); ` : ''}var v = ${v4}(${zero}); ${elements(`${x}o`, (i) => `${hasO ? `, ${x}o${i}` : ''}${hasI ? ', gi' : ''}`)} ${tile}[${kk} * ${G}i + ${x}g] = ${codec.encode('v')};`;
    const stageCode = rounds === 1
      ? `    {\n      ${body(`${x}kk`)}\n    }`
      : `    for (var r: i32 = 0i; r < ${rounds}i; r++) {\n      let kk = ${x}kk + r * ${step}i; ${body('kk')}\n    }`;
    return { fns, before, stage: stageCode };
  };
  const opA = operand('a');
  const opB = operand('b');
  const inner: string[] = [];
  for (let kk = 0; kk < BK; kk++) {
    inner.push(`    a = ${codec.decode(`tA[${kk * BM4}i + ty]`)}; b = ${codec.decode(`tB[${kk * BN4}i + tx]`)};`);
    for (let i = 0; i < TM; i++) inner.push(`    c${i} += a[${i}] * b;`);
  }
  // column j of the block: c0[j] .. c3[j], rows r .. r + 3 (those below M)
  const stores: string[] = [];
  for (let j = 0; j < TN; j++) {
    const st = `gemm_store_col(r, q + ${j}i, z, ${v4}(c0[${j}], c1[${j}], c2[${j}], c3[${j}]));`;
    const c = cond([checkM ? 'r < M_' : '', checkN ? `q + ${j}i < N_` : '']);
    stores.push(c ? `  if (${c}) { ${st} }` : `  ${st}`);
  }
  const rowStores: string[] = [];
  for (let i = 0; i < TM; i++) {
    const st = spec.store(i ? `(m + ${i}i)` : 'm', `v[${i}]`);
    rowStores.push(checkM && i ? `  if (m + ${i}i < M_) { ${st} }` : `  ${st}`);
  }
  const code = `const M_: i32 = ${M}i;
const N_: i32 = ${N}i;
const K_: i32 = ${K}i;
var<workgroup> tA: array<${codec.type}, ${BK * BM4}>;
var<workgroup> tB: array<${codec.type}, ${BK * BN4}>;

${opA.fns}
${opB.fns}
fn gemm_store_col(m: i32, n: i32, z: i32, v: ${v4}) {
${spec.storeColumn.map((l) => `  ${l}`).join('\n')}
${rowStores.join('\n')}
}

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let z: i32 = i32(wid.z);
  let row0: i32 = i32(wid.y) * ${BM}i;
  let col0: i32 = i32(wid.x) * ${BN}i;
  let tx: i32 = i32(lid % ${WX}u);
  let ty: i32 = i32(lid / ${WX}u);
  var c0 = ${v4}(${zero});
  var c1 = ${v4}(${zero});
  var c2 = ${v4}(${zero});
  var c3 = ${v4}(${zero});
  var a: ${v4};
  var b: ${v4};
${[opA.before, opB.before].filter(Boolean).join('\n')}
  for (var k0: i32 = 0i; k0 < K_; k0 += ${BK}i) {
${opA.stage}
${opB.stage}
    workgroupBarrier();
${inner.join('\n')}
    workgroupBarrier();
  }
  let r = row0 + ty * 4i;
  let q = col0 + tx * 4i;
${stores.join('\n')}
}
`;
  return { code, grid: { x: Math.ceil(N / BN), y: Math.ceil(M / BM), z: Z }, directives: codec.directives };
}
