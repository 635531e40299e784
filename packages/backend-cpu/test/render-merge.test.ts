// Loop merging in the renderer (render/merge.ts): trailing axes read as one contiguous run
// become one loop; anything else keeps its loop nest. Results are checked end to end by the
// conformance suite; these tests pin down which loops the generated C has.
import { describe, expect, it } from 'vitest';
import type { Expr, FusedKernel, Idx } from '@resgrad/core';
import { C_DIALECT, renderFused } from '@resgrad/backend-cpu';
import { affine, trailingGroup } from '../src/render/merge.js';

const ax = (axis: number): Idx => ({ op: 'axis', axis });
const c = (value: number): Idx => ({ op: 'const', value });
const add = (...xs: Idx[]): Idx => xs.reduce((a, b) => ({ op: 'add', a, b }));
const mul = (a: Idx, k: number): Idx => ({ op: 'mul', a, b: c(k) });
const load = (index: Idx, valid?: Idx): Expr => ({ op: 'load', dtype: 'float32', arg: 0, index, ...(valid ? { valid, fill: 0 } : {}) });

// x: [128, 16, 32, 32]; the BatchNorm sum over axes (0, 2, 3): output axis 0 = channel,
// reduction axes 1, 2, 3 = (n, h, w).
const nchw = (n: Idx, ch: Idx, h: Idx, w: Idx) => add(mul(n, 16384), mul(ch, 1024), mul(h, 32), w);
const bnSum: FusedKernel = {
  kind: 'fused',
  shape: [16],
  dtype: 'float32',
  reduce: { op: 'sum', extents: [128, 32, 32], body: load(nchw(ax(1), ax(0), ax(2), ax(3))), dtype: 'float32' },
  expr: { op: 'reduced', dtype: 'float32' },
  args: [1],
  out: 0,
};

describe('loop merging', () => {
  it('reads affine index expressions', () => {
    const f = affine(nchw(ax(1), ax(0), ax(2), ax(3)))!;
    expect([f.get(1), f.get(0), f.get(2), f.get(3), f.get(-1) ?? 0]).toEqual([16384, 1024, 32, 1, 0]);
    expect(affine({ op: 'div', a: ax(0), b: 2 })).toBeNull();
    expect(affine({ op: 'mul', a: ax(0), b: ax(1) })).toBeNull();
  });

  it('merges (h, w) of a BatchNorm statistic but not n', () => {
    const idx = [nchw(ax(1), ax(0), ax(2), ax(3))];
    expect(trailingGroup(idx, 1, 3, [16, 128, 32, 32])).toBe(2);
    const code = renderFused(bnSum, 'k0', ['float32'], C_DIALECT).code;
    expect(code).toMatch(/for \(int64_t r1 = 0; r1 < 1024LL; r1\+\+\)/);
    expect(code).toMatch(/for \(int64_t r0 = 0; r0 < 128LL; r0\+\+\)/);
    expect(code).not.toMatch(/r2/);
  });

  it('merges the trailing output axes of an elementwise kernel into long rows', () => {
    const k: FusedKernel = {
      kind: 'fused', shape: [128, 16, 32, 32], dtype: 'float32',
      expr: { op: 'alu', dtype: 'float32', alu: 'mul', args: [load(nchw(ax(0), ax(1), ax(2), ax(3))), { op: 'load', dtype: 'float32', arg: 1, index: ax(1) }] },
      args: [1, 2], out: 0,
    };
    const code = renderFused(k, 'k0', ['float32', 'float32'], C_DIALECT).code;
    // axes 2, 3 merge (rows of 1024); axis 1 does not (a1 reads the channel alone).
    expect(code).toMatch(/row_ = f_ \/ 1024LL/);
    expect(code).toMatch(/a1\[i1\]/);
  });

  it('keeps loops that a padding condition reads', () => {
    // A 3x3-window-like read: h + kh - 1 must lie in [0, 32).
    const h = add(ax(2), c(-1));
    const valid: Idx = { op: 'and', a: { op: 'ge', a: h, b: c(0) }, b: { op: 'lt', a: h, b: c(32) } };
    const k: FusedKernel = { ...bnSum, reduce: { ...bnSum.reduce!, body: load(nchw(ax(1), ax(0), h, ax(3)), valid) } };
    const code = renderFused(k, 'k0', ['float32'], C_DIALECT).code;
    expect(code).toMatch(/r2 < 32LL/);
  });
});
