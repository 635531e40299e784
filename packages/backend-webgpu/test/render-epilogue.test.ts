// Library epilogues in the generated WGSL, without a device (runs in the default `npm test`):
// every store of a library kernel's output goes through the epilogue function, on each op and
// each thread structure (tiled GEMM; direct convolutions; the weight gradient's loop and
// workgroup forms), and that function reads the epilogue's own buffers and applies its ops.
// Executing these kernels: epilogue.test.ts (npm run test:webgpu).
import { describe, expect, it } from 'vitest';
import {
  add, conv2d, grad, jit, matmul, mul, type LibraryKernel, type LibraryOp, type Program, relu, reshape, schedule, sub, sum, tanh,
  tensor, type Graph, type Tensor,
} from '@resgrad/core';
import {
  decideLibraryEpilogues, EPILOGUE_FN, epiloguePlacement, layoutBindings, renderFused, renderLibrary, splitEpilogue, webgpuLibraryEpilogue,
  type RenderLimits,
} from '@resgrad/backend-webgpu';

const GEMM_LIMITS: RenderLimits = {
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
};
// No GEMM tile fits 8 invocations: the direct convolutions.
const DIRECT_LIMITS: RenderLimits = { ...GEMM_LIMITS, maxComputeInvocationsPerWorkgroup: 8, maxComputeWorkgroupSizeX: 8 };

const zeros = (shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), { shape });
const col = (v: Tensor) => reshape(v, [1, -1, 1, 1]);
const scheduled = (g: Graph): Program => schedule(g, { libraryEpilogue: webgpuLibraryEpilogue });
const layoutOf = (p: Program, k: { args: readonly number[] }, maxBindings = 8) =>
  layoutBindings(k.args.map((id) => ({ dtype: p.buffers[id]!.dtype, size: p.buffers[id]!.size })), maxBindings);

/** The library kernels of `p` with an epilogue, by op. */
function epilogued(p: Program, op: LibraryOp): LibraryKernel {
  const k = p.kernels.find((k): k is LibraryKernel => k.kind === 'library' && k.op === op && k.epilogue !== undefined);
  if (!k) throw new Error(`no ${op} with an epilogue in\n${p}`);
  return k;
}

/** Every store of `out` in `code` applies the epilogue to the op's value at the output's `rank` axes. */
function expectStoresThroughEpilogue(code: string, label: string, rank = 4): void {
  const stores = code.match(/out\[[^\]]+\] = [^;]+;/g) ?? [];
  expect(stores.length, `${label}: stores`).toBeGreaterThan(0);
  for (const st of stores) expect(st, label).toMatch(new RegExp(`^out\\[[^\\]]+\\] = ${EPILOGUE_FN}\\(([^,]+, ){${rank}}[\\w\\[\\]]+\\);$`));
}

// Inference: conv + BN affine + residual add + ReLU (5 buffers: x, w, scale, shift, shortcut).
const inference = jit((x: Tensor, w: Tensor, s: Tensor, b: Tensor, sc: Tensor) =>
  relu(add(add(mul(conv2d(x, w, { padding: 1 }), col(s)), col(b)), sc)),
).lower(zeros([2, 3, 5, 5]), zeros([4, 3, 3, 3]), zeros([4]), zeros([4]), zeros([2, 4, 5, 5]));

// Training: an input gradient into a ReLU mask, and a weight gradient into SGD with momentum.
const training = (hw: number) =>
  jit((w1: Tensor, w2: Tensor, v: Tensor, x: Tensor) => {
    const loss = (w1: Tensor, w2: Tensor) => sum(tanh(conv2d(relu(conv2d(x, w1, { padding: 1 })), w2, { padding: 1 })));
    const [dw1, dw2] = grad(loss, { argnums: [0, 1] })(w1, w2) as unknown as Tensor[];
    const v2 = add(mul(v, 0.9), dw2!);
    return [sub(w1, mul(dw1!, 0.1)), sub(w2, mul(v2, 0.1)), v2];
  }).lower(zeros([4, 3, 3, 3]), zeros([4, 4, 3, 3]), zeros([4, 4, 3, 3]), zeros([2, 3, hw, hw]));

describe('WGSL library epilogues (no device)', () => {
  it('are claimed for float32 ops and the int32 matmul', () => {
    for (const op of ['dot', 'conv2d', 'conv2dInputGrad', 'conv2dWeightGrad'] as const) {
      expect(webgpuLibraryEpilogue(op, 'float32')).toBe(true);
      expect(webgpuLibraryEpilogue(op, 'float64')).toBe(false);
    }
    expect(webgpuLibraryEpilogue('dot', 'int32')).toBe(true);
    expect(webgpuLibraryEpilogue('conv2d', 'int32')).toBe(false);
  });

  it('conv2d: the GEMM and the direct kernel store through the epilogue, which reads scale, shift and the shortcut', () => {
    const p = scheduled(inference);
    expect(p.kernels).toHaveLength(1);
    const k = epilogued(p, 'conv2d');
    for (const [path, limits] of [['gemm', GEMM_LIMITS], ['direct', DIRECT_LIMITS]] as const) {
      const r = renderLibrary(k, layoutOf(p, k), limits, 'k0');
      expect(r.what).toMatch(path === 'gemm' ? /\(gemm .*\) \+ epilogue$/ : /^k0: conv2d x\[2, 3, 5, 5\] w\[4, 3, 3, 3\] \+ epilogue$/);
      expectStoresThroughEpilogue(r.code, `conv2d ${path}`);
      const fn = r.code.slice(r.code.indexOf(`fn ${EPILOGUE_FN}(i0: i32, i1: i32, i2: i32, i3: i32, red: f32) -> f32 {`));
      const body = fn.slice(0, fn.indexOf('\n}'));
      // scale and shift per channel (i1), the shortcut at the output's own index, then ReLU
      expect(body).toContain('a2[i1]');
      expect(body).toContain('a3[i1]');
      expect(body).toMatch(/a4\[\(\(\(\(i0 \* 100i\) \+ \(i1 \* 25i\)\) \+ \(i2 \* 5i\)\) \+ i3\)\]/);
      expect(body).toContain('rg_cmp_gt(');
      expect(body).toMatch(/\(red \* e\d+\)/);
    }
    // The same op without its epilogue stores the plain result.
    const { epilogue: _, ...bare } = k;
    const plain = renderLibrary({ ...bare, args: k.args.slice(0, 2) }, layoutOf(p, { args: k.args.slice(0, 2) }), GEMM_LIMITS, 'k0');
    expect(plain.code).not.toContain(EPILOGUE_FN);
    expect(plain.what).not.toContain('epilogue');
  });

  it('conv2dInputGrad and conv2dWeightGrad (loop and workgroup forms), and the matmul, store through the epilogue', () => {
    for (const hw of [5, 48]) {
      const p = scheduled(training(hw));
      for (const op of ['conv2dInputGrad', 'conv2dWeightGrad'] as const) {
        const k = epilogued(p, op);
        for (const limits of [GEMM_LIMITS, DIRECT_LIMITS]) {
          const r = renderLibrary(k, layoutOf(p, k), limits, 'k1');
          expect(r.what).toContain(`: ${op} `);
          expectStoresThroughEpilogue(r.code, `${op} ${r.what}`);
        }
      }
      // 2 x 48 x 48 terms per weight: the direct weight gradient folds them in a workgroup
      const wg = renderLibrary(epilogued(p, 'conv2dWeightGrad'), layoutOf(p, epilogued(p, 'conv2dWeightGrad')), DIRECT_LIMITS, 'k1');
      expect(wg.code.includes('var<workgroup> partial')).toBe(hw === 48);
    }
    const mm = scheduled(jit((a: Tensor, b: Tensor, c: Tensor) => tanh(add(matmul(a, b), c))).lower(zeros([2, 5, 7]), zeros([2, 7, 9]), zeros([9])));
    const k = epilogued(mm, 'dot');
    const r = renderLibrary(k, layoutOf(mm, k), GEMM_LIMITS, 'k0');
    expectStoresThroughEpilogue(r.code, 'dot', 3);
    expect(r.code).toContain('rg_tanh(');
    // the batch, row and column of the GEMM are the output's axes: nothing to decode
    expect(r.code).toContain(`out[z * 45i + m * 9i + n] = ${EPILOGUE_FN}(z, m, n, v[0]);`);
    expect(r.code).toContain(`out[z * 45i + (m + 3i) * 9i + n] = ${EPILOGUE_FN}(z, (m + 3i), n, v[3]);`);
  });

  it('beyond the binding limit: small overflow packed in the kernel, else the epilogue split into an in-place pass', () => {
    const p = scheduled(inference);
    const k = epilogued(p, 'conv2d');
    const MAX_BINDING = 2 ** 27;
    expect(epiloguePlacement(k, layoutOf(p, k, 8), MAX_BINDING)).toBe('fused');
    // 4 bindings: scale, shift and the shortcut (as large as the output) would be packed
    expect(epiloguePlacement(k, layoutOf(p, k, 4), MAX_BINDING)).toBe('split');
    // 5 bindings: shift and the shortcut would be packed, more than the output holds
    expect(epiloguePlacement(k, layoutOf(p, k, 5), MAX_BINDING)).toBe('split');
    // 6 bindings: everything has a binding of its own
    expect(epiloguePlacement(k, layoutOf(p, k, 6), MAX_BINDING)).toBe('fused');
    const { op, pass } = splitEpilogue(k);
    expect(op.epilogue).toBeUndefined();
    expect(op.args).toEqual(k.args.slice(0, 2));
    expect(pass.args).toEqual(k.args.slice(2));
    expect(pass.out).toBe(k.out);
    const r = renderFused(pass, layoutOf(p, pass, 4), GEMM_LIMITS, 'k0', undefined, { inPlace: true });
    expect(r.what).toContain('(library epilogue, in place)');
    expect(r.code).toContain('let red: f32 = out[o];');
    // the pass's loads are renumbered to its own arguments: a0..a2, nothing of the op's
    expect(r.code).toMatch(/a0\[i1\]/);
    expect(r.code).not.toMatch(/a3\[/);
    expect(() => renderFused(pass, layoutOf(p, pass, 4), GEMM_LIMITS, 'k0')).toThrow(/a `reduced` node outside a reduction epilogue/);
  });

  it('are on unless the option or RESGRAD_WEBGPU_EPILOGUES=0 says otherwise', () => {
    expect(decideLibraryEpilogues(undefined, undefined)).toBe(true);
    expect(decideLibraryEpilogues(undefined, '')).toBe(true);
    expect(decideLibraryEpilogues(undefined, '0')).toBe(false);
    expect(decideLibraryEpilogues(undefined, '1')).toBe(true);
    expect(decideLibraryEpilogues(true, '0')).toBe(true);
    expect(decideLibraryEpilogues(false, '1')).toBe(false);
    expect(() => decideLibraryEpilogues(undefined, 'no')).toThrow(/RESGRAD_WEBGPU_EPILOGUES must be 0 or 1, got "no"/);
  });
});
