// The optional WGSL capabilities without a device (runs in the default `npm test`): which
// features a backend decides on, and the WGSL rendered with them (subgroup reductions, f16
// GEMM tiles). The shaders themselves are compiled and run in subgroups.test.ts and
// gemm-f16.test.ts (npm run test:webgpu).
import { describe, expect, it } from 'vitest';
import { fc, test as prop } from '@fast-check/vitest';
import type { DType, FusedKernel, Idx, LibraryKernel } from '@resgrad/core';
import {
  BASELINE_SHADER_FEATURES, decideFeatures, layoutBindings, MATMUL_PRECISION_ENV, renderFused, renderLibrary,
  type FeatureSupport, type RenderLimits, type ShaderFeatures,
} from '@resgrad/backend-webgpu';
import { gemmTiles } from '../src/wgsl/gemm.js';

const LIMITS: RenderLimits = {
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
};
const SUBGROUPS: ShaderFeatures = { subgroups: true, gemmTiles: 'f32' };

/** out[i] = op over j < extent of a0[i * extent + j], accumulating in `dtype`. */
function reduction(op: 'sum' | 'max', dtype: DType, outputs: number, extent: number): FusedKernel {
  const index: Idx = { op: 'add', a: { op: 'mul', a: { op: 'axis', axis: 0 }, b: { op: 'const', value: extent } }, b: { op: 'axis', axis: 1 } };
  return {
    kind: 'fused',
    shape: [outputs],
    dtype,
    reduce: { op, extents: [extent], dtype, body: { op: 'load', dtype, arg: 0, index } },
    expr: { op: 'reduced', dtype },
    args: [0],
    out: 1,
  };
}

const render = (k: FusedKernel, features: ShaderFeatures, limits = LIMITS) =>
  renderFused(k, layoutBindings([{ dtype: k.dtype, size: 1 << 20 }], 8), limits, 'k0', features);

/** The module's lines before its first declaration: comments and directives. */
const directives = (code: string) => code.split('\n').filter((l) => /^(enable|requires|diagnostic) /.test(l));
const firstStatement = (code: string) => code.split('\n').find((l) => l.trim() && !l.startsWith('//'))!;

describe('subgroup reductions (rendering)', () => {
  it('a long float sum: directives first, one partial per subgroup, subgroup 0 finishing', () => {
    const s = render(reduction('sum', 'float32', 3, 1000), SUBGROUPS);
    expect(firstStatement(s.code)).toBe('enable subgroups;');
    expect(directives(s.code)).toEqual(['enable subgroups;', 'requires subgroup_id, subgroup_uniformity;']);
    expect(s.code).toContain('@builtin(subgroup_id) sg_id: u32, @builtin(num_subgroups) sg_count: u32');
    expect(s.code).toContain('let sg_red: f32 = subgroupAdd(acc);');
    expect(s.code).toContain('if (subgroupElect()) { partial[sg_id] = sg_red; }');
    expect(s.code).toContain('let red: f32 = subgroupAdd(acc2);');
    // one barrier instead of the tree's log2(256) = 8 (and the one before it)
    expect(s.code.match(/workgroupBarrier\(\)/g)).toHaveLength(1);
    expect(s.what).toMatch(/sum over \[1000\] \(subgroups\)$/);
    expect(s.grid).toEqual({ x: 3, y: 1 });
  });

  it('without the feature: the workgroup-memory tree and no directive', () => {
    const s = render(reduction('sum', 'float32', 3, 1000), BASELINE_SHADER_FEATURES);
    expect(directives(s.code)).toEqual([]);
    expect(s.code).not.toMatch(/subgroup/);
    expect(s.code).toContain('for (var w: u32 = 128u; w > 0u; w = w / 2u) {');
    expect(s.what).not.toContain('subgroups');
  });

  it('float max keeps NaN explicitly; integer and bool max and integer sums use the plain operations', () => {
    const fmax = render(reduction('max', 'float32', 2, 500), SUBGROUPS).code;
    expect(fmax).toContain('select(subgroupMax(acc), rg_nan(), subgroupAny(rg_isnan(acc)))');
    expect(fmax).toContain('var acc2: f32 = (-rg_inf());');
    expect(render(reduction('max', 'int32', 2, 500), SUBGROUPS).code).toContain('let sg_red: i32 = subgroupMax(acc);');
    expect(render(reduction('max', 'bool', 2, 500), SUBGROUPS).code).toContain('let sg_red: u32 = subgroupMax(acc);');
    expect(render(reduction('sum', 'int32', 2, 500), SUBGROUPS).code).toContain('let sg_red: i32 = subgroupAdd(acc);');
  });

  it('short reductions and elementwise kernels stay as they were: no subgroup operations', () => {
    expect(render(reduction('sum', 'float32', 3, 4), SUBGROUPS).code).not.toMatch(/subgroup/);
    expect(render(reduction('sum', 'float32', 20000, 1000), SUBGROUPS).code).not.toMatch(/subgroup/); // many outputs: a loop each
  });

  prop.prop([fc.constantFrom<'sum' | 'max'>('sum', 'max'), fc.constantFrom<DType>('float32', 'int32'), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 128, max: 100000 }), fc.constantFrom(16, 64, 256)], { numRuns: 40 })(
    'every workgroup reduction, with any workgroup size, has its directives first and its partial slots sized to the workgroup',
    (op, dtype, outputs, extent, maxInv) => {
      const limits = { ...LIMITS, maxComputeInvocationsPerWorkgroup: maxInv };
      const s = render(reduction(op, dtype, outputs, extent), SUBGROUPS, limits);
      const lines = s.code.split('\n').filter((l) => l.trim() && !l.startsWith('//'));
      expect(lines.slice(0, 2)).toEqual(['enable subgroups;', 'requires subgroup_id, subgroup_uniformity;']);
      expect(s.code).toContain(`@compute @workgroup_size(${maxInv})`);
      expect(s.code).toContain(`var<workgroup> partial: array<${dtype === 'int32' ? 'i32' : 'f32'}, ${maxInv}>;`);
      expect(s.code.split('{').length).toBe(s.code.split('}').length);
    },
  );

  it('the direct weight-gradient kernel combines with subgroups too', () => {
    // 8 invocations at most: no GEMM tile fits, so the direct kernels render; 2 * 48 * 48 terms
    // per weight element: a workgroup each
    const k: LibraryKernel = {
      kind: 'library', op: 'conv2dWeightGrad', dtype: 'float32', shape: [3, 2, 3, 3], args: [0, 1], out: 2,
      argShapes: [[2, 2, 48, 48], [2, 3, 48, 48]],
      params: { stride: [1, 1], padding: [[1, 1], [1, 1]], dilation: [1, 1], groups: 1, weightShape: [3, 2, 3, 3] },
    } as unknown as LibraryKernel;
    const small = { ...LIMITS, maxComputeInvocationsPerWorkgroup: 8, maxComputeWorkgroupSizeX: 8 };
    const layout = layoutBindings([{ dtype: 'float32', size: 2 * 2 * 48 * 48 }, { dtype: 'float32', size: 2 * 3 * 48 * 48 }], 8);
    const sg = renderLibrary(k, layout, small, 'k1', SUBGROUPS);
    expect(firstStatement(sg.code)).toBe('enable subgroups;');
    expect(sg.code).toContain('subgroupAdd(acc)');
    expect(sg.code).toContain('out[wi] = red;');
    const tree = renderLibrary(k, layout, small, 'k1');
    expect(tree.code).not.toMatch(/subgroup/);
    expect(tree.code).toContain('out[wi] = red;');
  });
});

describe('f16 GEMM tiles (rendering)', () => {
  const dot = (dtype: DType): LibraryKernel =>
    ({ kind: 'library', op: 'dot', dtype, shape: [70, 129], args: [0, 1], out: 2, argShapes: [[70, 33], [33, 129]], params: {} }) as unknown as LibraryKernel;
  const layout = (dtype: DType) => layoutBindings([{ dtype, size: 70 * 33 }, { dtype, size: 33 * 129 }], 8);

  it('f16: `enable f16;` first, vec4<f16> tiles, operands widened to f32 before the products', () => {
    const s = renderLibrary(dot('float32'), layout('float32'), LIMITS, 'k0', { subgroups: false, gemmTiles: 'f16' });
    expect(firstStatement(s.code)).toBe('enable f16;');
    expect(s.code).toMatch(/var<workgroup> tA: array<vec4<f16>, \d+>;/);
    expect(s.code).toMatch(/var<workgroup> tB: array<vec4<f16>, \d+>;/);
    expect(s.code).toContain('tA[e] = vec4<f16>(v);');
    expect(s.code).toContain('a = vec4<f32>(tA[0i + ty]); b = vec4<f32>(tB[0i + tx]);');
    expect(s.code).toContain('var c0 = vec4<f32>(f32(0));'); // the accumulators stay f32
    expect(s.what).toContain('f16 tiles)');
  });

  it('f16-packed: pack2x16float into u32 words, no extension', () => {
    const s = renderLibrary(dot('float32'), layout('float32'), LIMITS, 'k0', { subgroups: false, gemmTiles: 'f16-packed' });
    expect(directives(s.code)).toEqual([]);
    expect(s.code).toMatch(/var<workgroup> tA: array<vec2<u32>, \d+>;/);
    expect(s.code).toContain('tA[e] = vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw));');
    expect(s.code).toContain('a = vec4<f32>(unpack2x16float(tA[0i + ty].x), unpack2x16float(tA[0i + ty].y));');
  });

  it('an int32 matmul keeps exact i32 tiles whatever the precision', () => {
    const s = renderLibrary(dot('int32'), layout('int32'), LIMITS, 'k0', { subgroups: false, gemmTiles: 'f16' });
    expect(directives(s.code)).toEqual([]);
    expect(s.code).toMatch(/var<workgroup> tA: array<vec4<i32>, \d+>;/);
    expect(s.what).not.toContain('f16');
  });

  it('f16 tiles take half the workgroup storage: larger tiles fit a small budget', () => {
    const tight = { ...LIMITS, maxComputeWorkgroupStorageSize: 4096 };
    expect(gemmTiles(512, 512, 1, tight, 4)).toEqual({ BM: 32, BN: 32, BK: 16 });
    expect(gemmTiles(512, 512, 1, tight, 2)).toEqual({ BM: 64, BN: 64, BK: 16 });
  });
});

describe('feature decision', () => {
  const support = (device: string[], wgsl: string[] = ['subgroup_id', 'subgroup_uniformity']): FeatureSupport => ({
    device: new Set(device),
    wgsl: new Set(wgsl),
    description: 'test adapter',
  });

  it('subgroups: on where the device has them and WGSL has subgroup_id and subgroup_uniformity, unless turned off', () => {
    expect(decideFeatures({}, support(['subgroups']), undefined).features.subgroups).toBe(true);
    expect(decideFeatures({ subgroups: false }, support(['subgroups']), undefined).features.subgroups).toBe(false);
    expect(decideFeatures({}, support([]), undefined).features.subgroups).toBe(false);
    expect(decideFeatures({}, support(['subgroups'], ['subgroup_id']), undefined).features.subgroups).toBe(false);
    expect(decideFeatures({}, support(['subgroups'], []), undefined).features.subgroups).toBe(false);
  });

  it('matmul precision: f32 by default; f16 only when asked, and only with shader-f16', () => {
    const f16 = support(['shader-f16']);
    expect(decideFeatures({}, f16, undefined)).toMatchObject({ matmulPrecision: 'f32', features: { gemmTiles: 'f32' }, notice: null });
    expect(decideFeatures({ matmulPrecision: 'f16' }, f16, undefined)).toMatchObject({ matmulPrecision: 'f16', features: { gemmTiles: 'f16' } });
    expect(decideFeatures({}, f16, 'f16')).toMatchObject({ matmulPrecision: 'f16', features: { gemmTiles: 'f16' }, notice: null });
    // the option wins over the environment
    expect(decideFeatures({ matmulPrecision: 'f32' }, f16, 'f16').features.gemmTiles).toBe('f32');
    expect(decideFeatures({}, f16, '').features.gemmTiles).toBe('f32');
  });

  it('f16 asked for without shader-f16: the option throws, the environment variable gives f32 and a notice', () => {
    expect(() => decideFeatures({ matmulPrecision: 'f16' }, support([]), undefined)).toThrow(
      /matmulPrecision 'f16' needs the WebGPU feature 'shader-f16', which the device on test adapter does not have; use 'f32'/,
    );
    const d = decideFeatures({}, support([]), 'f16');
    expect(d.matmulPrecision).toBe('f32');
    expect(d.features.gemmTiles).toBe('f32');
    expect(d.notice).toBe(`@resgrad/backend-webgpu: ${MATMUL_PRECISION_ENV}=f16 ignored: the device on test adapter has no 'shader-f16'; matmuls and convolutions run in f32`);
  });

  it('rejects unknown precisions, naming where they came from', () => {
    expect(() => decideFeatures({}, support([]), 'bf16')).toThrow(`${MATMUL_PRECISION_ENV} must be 'f32' or 'f16', got "bf16"`);
    expect(() => decideFeatures({ matmulPrecision: 'tf32' as 'f32' }, support([]), undefined)).toThrow(/the matmulPrecision option must be 'f32' or 'f16', got "tf32"/);
  });

  it('packed f16 tiles (tests) need no shader-f16', () => {
    expect(decideFeatures({ matmulPrecision: 'f16', packedF16Tiles: true }, support([]), undefined).features.gemmTiles).toBe('f16-packed');
  });
});
