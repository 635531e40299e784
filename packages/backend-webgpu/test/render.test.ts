// WGSL generation without a device (runs in the default `npm test`): binding layouts within
// adapter limits, dispatch grids, literals, the dialect table's coverage, float64 refusal.
// Compiling the generated WGSL needs an adapter: see conformance.test.ts (npm run test:webgpu).
import { describe, expect, it } from 'vitest';
import { ALU_ARITY, type AluOp, type FusedKernel } from '@resgrad/core';
import { layoutBindings, renderFused, wgslAlu, wgslLiteral, type RenderLimits } from '@resgrad/backend-webgpu';
import { gridFor } from '../src/wgsl/dispatch.js';
import { divConst, divisionMagic } from '../src/wgsl/divide.js';

const LIMITS: RenderLimits = {
  maxComputeWorkgroupsPerDimension: 65535,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
};

describe('WGSL rendering (no device)', () => {
  it('gives every argument its own binding within the limit, and packs the rest beyond it', () => {
    const args = Array.from({ length: 10 }, (_, i) => ({ dtype: i % 2 ? ('int32' as const) : ('float32' as const), size: 5 + i }));
    const roomy = layoutBindings(args, 12);
    expect(roomy.count).toBe(11);
    expect(roomy.packBinding).toBe(-1);
    const tight = layoutBindings(args, 8);
    expect(tight.count).toBe(8); // output + 6 own + the pack
    expect(tight.packBinding).toBe(7);
    expect(tight.args.filter((a) => a.packed).map((a) => a.offset)).toEqual([0, 11, 23, 36]);
  });

  it('spreads large dispatches over a 2-d grid', () => {
    expect(gridFor(100, 65535)).toEqual({ x: 100, y: 1 });
    const g = gridFor(200_000, 65535);
    expect(g.y).toBe(4);
    expect(g.x * g.y).toBeGreaterThanOrEqual(200_000);
    expect(() => gridFor(65535 ** 2 + 1, 65535)).toThrow(/exceed/);
  });

  it('writes literals WGSL accepts, with NaN and infinities at run time', () => {
    expect(wgslLiteral(1, 'float32')).toBe('1.0f');
    expect(wgslLiteral(1e-7, 'float32')).toMatch(/^[0-9.e-]+f$/);
    expect(wgslLiteral(NaN, 'float32')).toBe('rg_nan()');
    expect(wgslLiteral(-Infinity, 'float32')).toBe('(-rg_inf())');
    expect(wgslLiteral(-2147483648, 'int32')).toBe('i32(-2147483647 - 1)');
    expect(wgslLiteral(1, 'bool')).toBe('1u');
  });

  it('has a rendering of every ALU op for the dtypes the primitives allow', () => {
    for (const op of Object.keys(ALU_ARITY) as AluOp[]) {
      const xs = ['a', 'b', 'c'].slice(0, ALU_ARITY[op]);
      const float = op === 'where' ? wgslAlu(op, xs, 'float32', 'float32') : wgslAlu(op, xs, op === 'bitsToFloat' ? 'float32' : 'float32', op === 'bitsToFloat' ? 'int32' : 'float32');
      expect(float).toBeTruthy();
      if (!['exp', 'log', 'sqrt', 'rsqrt', 'recip', 'sin', 'cos', 'tanh', 'bitsToFloat'].includes(op)) expect(wgslAlu(op, xs, 'int32', 'int32')).toBeTruthy();
    }
    expect(() => wgslAlu('add', ['a', 'b'], 'float64', 'float64')).toThrow(/float64 is not supported on WebGPU/);
  });

  it('renders a fused reduction in both thread structures', () => {
    const k = (extent: number): FusedKernel => ({
      kind: 'fused',
      shape: [3],
      dtype: 'float32',
      reduce: { op: 'sum', extents: [extent], dtype: 'float32', body: { op: 'load', dtype: 'float32', arg: 0, index: { op: 'add', a: { op: 'mul', a: { op: 'axis', axis: 0 }, b: { op: 'const', value: extent } }, b: { op: 'axis', axis: 1 } } } },
      expr: { op: 'reduced', dtype: 'float32' },
      args: [0],
      out: 1,
    });
    const layout = layoutBindings([{ dtype: 'float32', size: 3 * 1000 }], 8);
    const wide = renderFused(k(1000), layout, LIMITS);
    expect(wide.code).toContain('var<workgroup> partial');
    expect(wide.grid).toEqual({ x: 3, y: 1 });
    const narrow = renderFused(k(4), layout, LIMITS);
    expect(narrow.code).not.toContain('var<workgroup>');
    expect(narrow.code).toContain('for (var r: i32 = 0i; r < 4i; r++)');
  });

  it('divides indices by constants exactly with a multiply and shift within the proven range', () => {
    for (let d = 2; d <= 80; d++) {
      for (const max of [1, 7, 100, 1000, 20000]) {
        const magic = divisionMagic(d, max);
        if (!magic) continue;
        expect(max * magic.m).toBeLessThan(2 ** 31); // no i32 overflow
        let wrong = 0;
        for (let x = 0; x <= max; x++) if (Math.floor((x * magic.m) / 2 ** magic.s) !== Math.floor(x / d)) wrong++;
        expect(wrong, `d ${d}, max ${max}`).toBe(0);
      }
    }
    expect(divisionMagic(9, 160)).not.toBeNull();
    expect(divisionMagic(49, 10_000_000)).toBeNull(); // beyond i32 products: WGSL's division
    expect(divConst('k', 1, 100)).toBe('k');
    expect(divConst('k', 32, 100)).toBe('(k >> 5u)');
    expect(divConst('k', 9, 160)).toMatch(/^\(\(k \* \d+i\) >> \d+u\)$/);
    expect(divConst('k', 49, 10_000_000)).toBe('(k / 49i)');
  });
});
