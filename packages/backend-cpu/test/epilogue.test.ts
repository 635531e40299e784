// Library kernels with epilogues on the cpu backend: the generated C that runs a convolution
// or GEMM and rewrites its output in place must give exactly what the same kernels give
// without the epilogue (the op's result stored, then a fused kernel), on every code path of
// the runtime: per image on the pool (batch >= threads), after a split GEMM (batch 1), the
// direct 3x3 kernels and im2col, float32 and float64.
import { describe, expect, it } from 'vitest';
import {
  add, conv2d, type DType, grad, type Graph, jit, matmul, mul, type Program, relu, reshape, schedule, sum, tanh, type Tensor,
  tensor, type TypedArray,
} from '@resgrad/core';
import { compileCpuProgram, cpuLibraryEpilogue, loadRuntime, renderProgram } from '@resgrad/backend-cpu';

const randn = (shape: number[], seed: number, dtype: DType = 'float32'): Tensor => {
  let a = seed >>> 0;
  const r = () => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return a / 4294967296;
  };
  const n = shape.reduce((p, d) => p * d, 1);
  const data = Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 2);
  return tensor(dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data), { shape, dtype });
};

/** Runs `graph` on the cpu backend scheduled both ways; returns [with, without] epilogues. */
function bothWays(graph: Graph, inputs: readonly Tensor[]): { fused: Program; outs: [TypedArray[], TypedArray[]] } {
  const consts = graph.constValues.map((t) => t.data());
  const data = inputs.map((t) => ({ backend: 'cpu' as const, data: t.data().slice() }));
  const scalarConst = (i: number) => (graph.consts[i]!.aval.shape.length === 0 ? consts[i]![0] : undefined);
  const run = (p: Program) => compileCpuProgram(p, consts).run(data).map((b) => (b as unknown as { data: TypedArray }).data);
  const fused = schedule(graph, { scalarConst, libraryEpilogue: cpuLibraryEpilogue });
  const plain = schedule(graph, { scalarConst });
  return { fused, outs: [run(fused), run(plain)] };
}

const expectBitEqual = ([got, want]: [TypedArray[], TypedArray[]]) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(want[i]!.buffer, want[i]!.byteOffset, want[i]!.byteLength)), `output ${i}`).toBe(true));
};

const epilogues = (p: Program) => p.kernels.filter((k) => k.kind === 'library' && k.epilogue).length;

// A residual block's tail: BatchNorm folded to scale and shift, the shortcut added, ReLU.
const block = (x: Tensor, w: Tensor, s: Tensor, b: Tensor, sc: Tensor) =>
  relu(add(add(mul(conv2d(x, w, { padding: 1 }), reshape(s, [1, -1, 1, 1])), reshape(b, [1, -1, 1, 1])), sc));

describe('cpu library epilogues', () => {
  const threads = loadRuntime().threads;
  // batch >= threads: per image on the pool; batch 1: after a split GEMM (when threads > 1).
  for (const [batch, hw, dtype] of [[threads + 1, 8, 'float32'], [1, 8, 'float32'], [threads + 1, 7, 'float32'], [3, 6, 'float64']] as const) {
    it(`conv + BN + add + ReLU, forward and backward: batch ${batch}, ${hw}x${hw}, ${dtype}`, () => {
      // 8x8 with 8 channels takes the direct AVX-512 kernels where present; 7x7 and 6x6 take im2col.
      const x = randn([batch, 8, hw, hw], 1, dtype);
      const w = randn([8, 8, 3, 3], 2, dtype);
      const s = randn([8], 3, dtype);
      const b = randn([8], 4, dtype);
      const sc = randn([batch, 8, hw, hw], 5, dtype);
      const fwd = bothWays(jit(block).lower(x, w, s, b, sc), [x, w, s, b, sc]);
      expect(epilogues(fwd.fused)).toBe(1);
      expect(fwd.fused.kernels).toHaveLength(1);
      expectBitEqual(fwd.outs);

      // Two blocks: the second conv's input gradient flows into the first ReLU's mask.
      const w2 = randn([8, 8, 3, 3], 6, dtype);
      const loss = (w: Tensor, w2: Tensor, x: Tensor) => sum(tanh(conv2d(block(x, w, s, b, sc), w2, { padding: 1 })));
      const g = jit(grad(loss, { argnums: [0, 1] })).lower(w, w2, x);
      const bwd = bothWays(g, [w, w2, x]);
      expect(epilogues(bwd.fused)).toBeGreaterThanOrEqual(1);
      expectBitEqual(bwd.outs);
    });
  }

  it('matmul + bias + tanh (batched) and the weight gradient with an epilogue', () => {
    const a = randn([3, 5, 7], 7);
    const m = randn([3, 7, 9], 8);
    const bias = randn([9], 9);
    const mm = bothWays(jit((a: Tensor, m: Tensor, c: Tensor) => tanh(add(matmul(a, m), c))).lower(a, m, bias), [a, m, bias]);
    expect(epilogues(mm.fused)).toBe(1);
    expectBitEqual(mm.outs);
    // An SGD step on conv weights: w - 0.1 * dw, with dw the weight gradient.
    const x = randn([4, 3, 6, 6], 10);
    const w = randn([4, 3, 3, 3], 11);
    const step = (w: Tensor, x: Tensor) => add(w, mul(grad((w: Tensor) => sum(mul(conv2d(x, w), conv2d(x, w))))(w), -0.1));
    const sgd = bothWays(jit(step).lower(w, x), [w, x]);
    expect(sgd.fused.kernels.some((k) => k.kind === 'library' && k.op === 'conv2dWeightGrad' && k.epilogue)).toBe(true);
    expectBitEqual(sgd.outs);
  });

  it('the generated source calls the runtime op, then the epilogue task', () => {
    const x = randn([2, 8, 8, 8], 1);
    const w = randn([8, 8, 3, 3], 2);
    const p = schedule(jit((x: Tensor, w: Tensor) => relu(conv2d(x, w, { padding: 1 }))).lower(x, w), { libraryEpilogue: cpuLibraryEpilogue });
    const src = renderProgram(p).source;
    expect(src).toMatch(/rg_rt->conv2d_f32\(dims_, a0, a1, out, k0_task, &c\);/);
    expect(src).toMatch(/static const int32_t dims_\[16\] = \{2, 8, 8, 8, 8, 3, 3, 8, 8, 1, 1, 1, 1, 1, 1, 1\};/);
  });
});
