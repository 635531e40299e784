// The CUDA renderer without a compiler: the dialect covers every ALU op, generated code has no
// #include, the launch plans are consistent. (Compiling it is `npm run test:cuda`.)
import { describe, expect, it } from 'vitest';
import { ALU_ARITY, type AluOp, type DType } from '@resgrad/core';
import { chooseStrategy, CUDA_DIALECT, CUDA_PRELUDE, cudaDialect, cudaLiteral, renderCudaProgram, tileFor } from '@resgrad/backend-cuda';
import { primitivePrograms, randomPrograms, residualBlockPrograms } from './corpus.js';

describe('CUDA dialect', () => {
  it('has an entry for every ALU op on the dtypes it applies to', () => {
    const floats: DType[] = ['float32', 'float64'];
    for (const op of Object.keys(ALU_ARITY) as AluOp[]) {
      const args = ['a', 'b', 'c'].slice(0, ALU_ARITY[op]);
      for (const d of [CUDA_DIALECT, cudaDialect({ fastMath: true })])
        for (const t of floats) expect(d.alu(op, args, op === 'cast' ? 'int32' : t, t), `${op} ${t}`).toMatch(/\S/);
    }
    const intOps: AluOp[] = ['neg', 'abs', 'sign', 'add', 'sub', 'mul', 'div', 'max', 'min', 'pow'];
    for (const op of intOps) expect(CUDA_DIALECT.alu(op, ['a', 'b'], 'int32', 'int32')).toMatch(/\S/);
    expect(() => CUDA_DIALECT.alu('exp', ['a'], 'int32', 'int32')).toThrow(/no int32 rendering for ALU op 'exp'/);
  });

  it('keeps the reference semantics in the spelled-out cases', () => {
    const d = CUDA_DIALECT;
    expect(d.alu('div', ['a', 'b'], 'int32', 'int32')).toBe('rg_idiv(a, b)');
    expect(d.alu('add', ['a', 'b'], 'int32', 'int32')).toBe('(rg_i32)((rg_u32)a + (rg_u32)b)');
    expect(d.alu('cast', ['x'], 'int32', 'float32')).toBe('rg_f2i((double)x)');
    expect(d.alu('cast', ['x'], 'bool', 'float32')).toBe('(rg_u8)((x != 0) & (x == x))');
    expect(d.alu('exp', ['x'], 'float32', 'float32')).toBe('(float)exp((double)x)');
    expect(cudaDialect({ fastMath: true }).alu('exp', ['x'], 'float32', 'float32')).toBe('expf(x)');
    expect(cudaLiteral(-2147483648, 'int32')).toBe('((rg_i32)(-2147483647 - 1))');
    expect(cudaLiteral(NaN, 'float32')).toBe('__int_as_float(0x7fc00000)');
    expect(cudaLiteral(-Infinity, 'float64')).toContain('0xfff0000000000000');
    expect(cudaLiteral(-0, 'float32')).toBe('(-0.0f)');
    expect(cudaLiteral(0.1, 'float64')).toBe('(0.1)');
  });

  it('defines threefry2x32-20 with the reference rotations and key schedule', () => {
    expect(CUDA_PRELUDE).toContain('{{13, 15, 26, 6}, {17, 29, 16, 24}}');
    expect(CUDA_PRELUDE).toContain('0x1bd11bdau');
  });
});

describe('rendered programs', () => {
  const entries = [...primitivePrograms(), ...randomPrograms(10), ...residualBlockPrograms()];

  it('use no #include and name one function per fused kernel', () => {
    for (const e of entries) {
      const r = renderCudaProgram(e.program);
      expect(r.source, e.label).not.toMatch(/#include/);
      r.plans.forEach((p, i) => {
        if (p.kind === 'fused') expect(r.source).toContain(`void __launch_bounds__(256) ${p.fused.name}(`);
        else for (const l of p.launches) expect(r.source).toContain(` ${l.fn}(`);
        void i;
      });
    }
  });

  it('picks a reduction strategy from the sizes', () => {
    expect(chooseStrategy(1000, 10)).toBe('thread');
    expect(chooseStrategy(16, 131072)).toBe('block');
    expect(chooseStrategy(8192, 64)).toBe('warp');
    expect(tileFor(16)).toEqual({ BM: 16, BN: 256 });
    expect(tileFor(64)).toEqual({ BM: 64, BN: 64 });
  });

  it('splits the weight gradient of a CIFAR batch over K into a workspace', () => {
    const bwd = residualBlockPrograms()[1]!;
    const plans = renderCudaProgram(bwd.program).plans;
    const split = plans.filter((p) => p.kind === 'library' && p.workspace > 0);
    expect(split.length).toBeGreaterThan(0);
    for (const p of split) if (p.kind === 'library') expect(p.launches.map((l) => l.args[0])).toEqual(['ws', 'out']);
  });
});
