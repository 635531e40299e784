// The one tiled matrix-product template behind every library kernel: C[M, N] = A[M, K] B[K, N]
// where A and B are not arrays but *loaders* (CUDA expressions of the element at (m, k) and
// (k, n)). Plain GEMM loads rows; the convolutions gather through im2col-style index
// arithmetic on the fly (implicit GEMM), so no unfolded copy of the input ever exists.
//
// Structure (classic shared-memory tiling): a block of 256 threads computes a BM x BN tile of
// C; for each slice of BK = 16 along K it stages the A and B tiles in shared memory (each
// thread loads a few elements; consecutive threads take consecutive k of A and consecutive n
// of B, the contiguous direction of both for our layouts), then every thread accumulates a
// 4 x 4 micro-tile in registers. Shapes are compile-time constants (each kernel is rendered
// for its shapes), so the index divisions of the loaders become multiplications.
// The tile adapts to M: 16 x 256 for M <= 16 (the first ResNet stage has 16 channels),
// 32 x 128 for M <= 32, else 64 x 64, so small-M products waste no threads.
//
// FMA: the translation unit is compiled with --fmad=false (elementwise kernels must round like
// the reference), so the product-accumulate calls __fmaf_rn / __fma_rn explicitly.

/** The element type of a tiled kernel. */
export type TileType = 'float' | 'double' | 'rg_i32';

/** A loader: statements (may be empty) and the expression of the element, given in-range indices. */
export interface Load {
  readonly pre: readonly string[];
  readonly value: string;
}

/** What one tiled kernel computes. */
export interface TiledSpec {
  readonly name: string;
  readonly T: TileType;
  readonly M: number;
  readonly N: number;
  /** Kernel parameters (C declarations). */
  readonly params: readonly string[];
  /** Statements at the top: per-blockIdx.z values (batch offsets, group, split-K range). */
  readonly prologue: readonly string[];
  /** Expressions (may use prologue names) of the K range of this block: [kBegin, kEnd). */
  readonly kBegin: string;
  readonly kEnd: string;
  /** Element (m, k) of A; `m` and `k` are in range. */
  loadA(m: string, k: string): Load;
  /** Element (k, n) of B. */
  loadB(k: string, n: string): Load;
  /** Statements storing value `v` at (m, n); `i` is the thread's row (0 .. TM-1) of `m`. */
  store(m: string, n: string, v: string, i: string): readonly string[];
  /**
   * Values each thread computes per output row before the product (an epilogue's per-channel
   * work, see epilogue.ts): declarations of arrays of `rows` elements, and the statements that
   * fill element `i` where the row variable `m` is in range.
   */
  readonly rowValues?: { declare(rows: number): readonly string[]; compute(i: string): readonly string[] };
}

/** The block tile for a product with M rows. */
export function tileFor(M: number): { BM: number; BN: number } {
  return M <= 16 ? { BM: 16, BN: 256 } : M <= 32 ? { BM: 32, BN: 128 } : { BM: 64, BN: 64 };
}

export const TILE_THREADS = 256;
const BK = 16;
const TM = 4;
const TN = 4;

/** Grid of a tiled kernel: x over N tiles, y over M tiles (z is the caller's). */
export function tiledGrid(M: number, N: number): [number, number] {
  const { BM, BN } = tileFor(M);
  return [Math.ceil(N / BN), Math.ceil(M / BM)];
}

const mac = (T: TileType, a: string, b: string, c: string) =>
  T === 'float' ? `__fmaf_rn(${a}, ${b}, ${c})` : T === 'double' ? `__fma_rn(${a}, ${b}, ${c})` : `(rg_i32)((rg_u32)${c} + (rg_u32)${a} * (rg_u32)${b})`;

const ind = (n: number) => (l: string) => `${' '.repeat(n)}${l}`;

/** The row values of `s` (before the product loop, where only indices are live), unrolled over the thread's rows. */
function rowValues(s: TiledSpec, BM: number): string[] {
  const compute = s.rowValues?.compute('i') ?? [];
  if (compute.length === 0) return [];
  return [
    ...s.rowValues!.declare(TM).map(ind(2)),
    `#pragma unroll`,
    `  for (int i = 0; i < ${TM}; i++) {`,
    `    const int m = m0 + ty + ${BM / TM} * i;`,
    `    if (m < ${s.M}) {`,
    ...compute.map(ind(6)),
    `    }`,
    `  }`,
  ];
}

/** Renders the kernel described by `s`. */
export function renderTiled(s: TiledSpec): string {
  const { BM, BN } = tileFor(s.M);
  const TX = BN / TN; // threads along n
  const aLoads = (BM * BK) / TILE_THREADS;
  const bLoads = (BN * BK) / TILE_THREADS;
  const bRows = TILE_THREADS / BN; // k rows of the B tile filled per pass
  const zero = s.T === 'rg_i32' ? '0' : s.T === 'float' ? '0.0f' : '0.0';
  const la = s.loadA('m', 'k');
  const lb = s.loadB('k', 'n');
  const lines = [
    `extern "C" __global__ void __launch_bounds__(${TILE_THREADS}) ${s.name}(${s.params.join(', ')}) {`,
    `  __shared__ ${s.T} As[${BK}][${BM + 1}];`,
    `  __shared__ ${s.T} Bs[${BK}][${BN + 1}];`,
    `  const int tid = threadIdx.x, tx = tid % ${TX}, ty = tid / ${TX};`,
    `  const int m0 = blockIdx.y * ${BM}, n0 = blockIdx.x * ${BN};`,
    ...s.prologue.map(ind(2)),
    ...rowValues(s, BM),
    `  const int kBegin = ${s.kBegin}, kEnd = ${s.kEnd};`,
    `  ${s.T} acc[${TM}][${TN}];`,
    `#pragma unroll`,
    `  for (int i = 0; i < ${TM}; i++)`,
    `#pragma unroll`,
    `    for (int j = 0; j < ${TN}; j++) acc[i][j] = ${zero};`,
    `  for (int k0 = kBegin; k0 < kEnd; k0 += ${BK}) {`,
    `#pragma unroll`,
    `    for (int i = 0; i < ${aLoads}; i++) {`,
    `      const int mm = (tid >> 4) + 16 * i, kk = tid & 15;`,
    `      const int m = m0 + mm, k = k0 + kk;`,
    `      ${s.T} v = ${zero};`,
    `      if (m < ${s.M} && k < kEnd) {`,
    ...la.pre.map(ind(8)),
    `        v = ${la.value};`,
    `      }`,
    `      As[kk][mm] = v;`,
    `    }`,
    `#pragma unroll`,
    `    for (int i = 0; i < ${bLoads}; i++) {`,
    `      const int nn = tid % ${BN}, kk = tid / ${BN} + ${bRows} * i;`,
    `      const int n = n0 + nn, k = k0 + kk;`,
    `      ${s.T} v = ${zero};`,
    `      if (n < ${s.N} && k < kEnd) {`,
    ...lb.pre.map(ind(8)),
    `        v = ${lb.value};`,
    `      }`,
    `      Bs[kk][nn] = v;`,
    `    }`,
    `    __syncthreads();`,
    `#pragma unroll`,
    `    for (int kk = 0; kk < ${BK}; kk++) {`,
    `      ${s.T} a[${TM}], b[${TN}];`,
    `#pragma unroll`,
    `      for (int i = 0; i < ${TM}; i++) a[i] = As[kk][ty + ${BM / TM} * i];`,
    `#pragma unroll`,
    `      for (int j = 0; j < ${TN}; j++) b[j] = Bs[kk][tx + ${TX} * j];`,
    `#pragma unroll`,
    `      for (int i = 0; i < ${TM}; i++)`,
    `#pragma unroll`,
    `        for (int j = 0; j < ${TN}; j++) acc[i][j] = ${mac(s.T, 'a[i]', 'b[j]', 'acc[i][j]')};`,
    `    }`,
    `    __syncthreads();`,
    `  }`,
    `#pragma unroll`,
    `  for (int i = 0; i < ${TM}; i++) {`,
    `    const int m = m0 + ty + ${BM / TM} * i;`,
    `    if (m >= ${s.M}) continue;`,
    `#pragma unroll`,
    `    for (int j = 0; j < ${TN}; j++) {`,
    `      const int n = n0 + tx + ${TX} * j;`,
    `      if (n < ${s.N}) {`,
    ...s.store('m', 'n', 'acc[i][j]', 'i').map(ind(8)),
    `      }`,
    `    }`,
    `  }`,
    `}`,
  ];
  return lines.join('\n');
}
