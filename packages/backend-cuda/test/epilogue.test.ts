// Library epilogues in the CUDA backend without a GPU: which ops take one, that the rendered
// library kernels apply the epilogue where they store (a dropped or misplaced epilogue fails
// here), and, through the host emulation of the generated CUDA C (emulate.ts), that the
// values are the oracle's. Compiling them with nvcc and NVRTC is `npm run test:cuda`.
import { describe, expect, it } from 'vitest';
import { evalGraphOracle, type LibraryKernel, schedule, type Tensor } from '@resgrad/core';
import { cudaLibraryEpilogue, renderCudaProgram, renderLibrary, CUDA_DIALECT } from '@resgrad/backend-cuda';
import { inputsFor, mismatch } from './conformance.js';
import { emulatePrograms, findCxx } from './emulate.js';
import { cudaSchedule, epilogueGraphs, epiloguePrograms } from './epilogue-corpus.js';

const graph = (label: string) => epilogueGraphs().find(([l]) => l === label)![1];
const withEpilogue = (ks: readonly { kind: string }[]) => ks.filter((k): k is LibraryKernel => k.kind === 'library' && !!(k as LibraryKernel).epilogue);
/** Lines storing the op's raw accumulator into the output (a split-K partial product is not one). */
const rawStores = (code: string) => code.split('\n').filter((l) => /\] = acc(\[i\]\[j\])?;$/.test(l) && !/^\s*dst\[s \* /.test(l));

describe('which library ops take an epilogue on cuda', () => {
  it('every op our tiled kernels run, except float dots that go to cuBLAS', () => {
    const withCublas = cudaLibraryEpilogue(true);
    const without = cudaLibraryEpilogue(false);
    for (const op of ['conv2d', 'conv2dInputGrad', 'conv2dWeightGrad'] as const)
      for (const dt of ['float32', 'float64', 'int32'] as const) expect(withCublas(op, dt) && without(op, dt), `${op} ${dt}`).toBe(true);
    expect(withCublas('dot', 'float32')).toBe(false);
    expect(withCublas('dot', 'float64')).toBe(false);
    expect(withCublas('dot', 'int32')).toBe(true);
    expect(without('dot', 'float32')).toBe(true);
    expect(without('conv2d', 'bool')).toBe(false);
  });
});

describe('rendered library epilogues', () => {
  it('conv + BN affine + residual add + ReLU is one kernel whose store writes the epilogue value', () => {
    const p = schedule(graph('epi/conv-bn-add-relu'), cudaSchedule(true));
    expect(p.kernels).toHaveLength(1);
    expect(withEpilogue(p.kernels)).toHaveLength(1);
    const r = renderCudaProgram(p);
    // scale and shift are the extra parameters e2, e3; the residual is the operand x itself
    expect(r.source).toContain('k0(float *__restrict__ y, const float *__restrict__ x, const float *__restrict__ w, const float *__restrict__ e2, const float *__restrict__ e3)');
    const stores = r.source.split('\n').filter((l) => /^\s*y\[/.test(l));
    expect(stores).toHaveLength(1);
    expect(stores[0]).toMatch(/^\s*y\[\(b \* 8 \+ g \* 8 \+ m\) \* 64 \+ q\] = ep\d+;$/);
    expect(r.source).toContain('e2[ep_i1]');
    expect(r.source).toContain('e3[ep_i1]');
    expect(r.source).toContain('acc[i][j] * ep');
    expect(r.source).toMatch(/x\[\(\(\(\(ep_i0 \* 512\) \+ \(ep_i1 \* 64\)\) \+ \(ep_i2 \* 8\)\) \+ ep_i3\)\]/);
    expect(r.source).toMatch(/ep\d+ > \(0\.0f\)/);
    const plan = r.plans[0]!;
    expect(plan.kind === 'library' && plan.launches.map((l) => l.args)).toEqual([['out', 0, 1, 2, 3]]);
    // Without epilogues the same graph stores the convolution's raw result and adds a kernel.
    const plain = renderCudaProgram(schedule(graph('epi/conv-bn-add-relu')));
    expect(plain.plans).toHaveLength(2);
    expect(rawStores(plain.source)).toHaveLength(1);
  });

  it('every library kernel of the epilogue corpus applies its epilogue at every store', () => {
    let n = 0;
    for (const e of epiloguePrograms())
      for (const k of withEpilogue(e.program.kernels)) {
        const lib = renderLibrary(k, 'K', { argTypes: k.args.map((id) => e.program.buffers[id]!.dtype), dialect: CUDA_DIALECT });
        expect(rawStores(lib.code), `${e.label} ${k.op}`).toEqual([]);
        expect(lib.code, `${e.label} ${k.op}`).toMatch(/\] = ep\d+;$/m);
        // The last launch (the one writing the output) passes every extra buffer.
        const last = lib.launches[lib.launches.length - 1]!;
        for (let a = k.argShapes.length; a < k.args.length; a++) expect(last.args, `${e.label} ${k.op} arg ${a}`).toContain(a);
        expect(lib.code).not.toMatch(/#include/);
        n++;
      }
    expect(n).toBeGreaterThan(40);
  });

  it('a split-K weight gradient applies it in the kernel that sums the slices', () => {
    const p = schedule(graph('epi/split-k-sgd'), cudaSchedule(true));
    const k = withEpilogue(p.kernels).find((x) => x.op === 'conv2dWeightGrad')!;
    const lib = renderLibrary(k, 'K', { argTypes: k.args.map((id) => p.buffers[id]!.dtype), dialect: CUDA_DIALECT });
    expect(lib.workspace).toBeGreaterThan(0);
    expect(lib.launches.map((l) => l.args)).toEqual([['ws', 0, 1], ['out', 'ws', 0, 1, 2]]);
    const sum = lib.code.slice(lib.code.indexOf('void __launch_bounds__(256) K('));
    expect(sum).toMatch(/const int ep_i0 = \(f\) \/ 18;/);
    expect(sum).toMatch(/dw\[f\] = ep\d+;/);
  });

  it('computes the costly per-channel part (rsqrt of the variance) once per row, before the product loop', () => {
    const p = schedule(graph('epi/bn-inference'), cudaSchedule(true));
    expect(p.kernels).toHaveLength(1);
    const src = renderCudaProgram(p).source;
    const product = src.indexOf('for (int k0 = kBegin;');
    const rsqrt = src.indexOf('1.0 / sqrt(');
    expect(rsqrt).toBeGreaterThan(0);
    expect(rsqrt).toBeLessThan(product);
    expect(src).toMatch(/float ep_row0\[4\];/);
    expect(src).toMatch(/ep_row0\[i\] = ep\d+;/);
    expect(src.slice(product)).toMatch(/= ep_row0\[i\];/);
    expect(src.slice(product)).not.toContain('sqrt(');
  });

  it('a batched dot decodes its batch axes from blockIdx.z', () => {
    const p = schedule(graph('epi/int32-dot'), cudaSchedule(true));
    const k = withEpilogue(p.kernels)[0]!;
    expect(k.op).toBe('dot');
    const code = renderLibrary(k, 'K', { argTypes: k.args.map((id) => p.buffers[id]!.dtype), dialect: CUDA_DIALECT }).code;
    expect(code).toContain('const int ep_i0 = z;');
    expect(code).toMatch(/c\[\(long long\)z \* 102 \+ m \* 17 \+ n\] = ep\d+;/);
  });

  it('renderLibrary refuses an epilogue without its argument dtypes', () => {
    const p = schedule(graph('epi/conv-bn-add-relu'), cudaSchedule(true));
    expect(() => renderLibrary(p.kernels[0] as LibraryKernel, 'K')).toThrow(/renderLibrary: conv2d has an epilogue but no argument dtypes/);
  });
});

const cxx = findCxx();
if (!cxx) console.log('host emulation skipped: no C++ compiler (set RESGRAD_CXX or put g++ on PATH)');

describe.skipIf(!cxx)('host emulation of the generated CUDA C', () => {
  it('library kernels with epilogues (and the fused kernels around them) give the oracle values', () => {
    const cases = epilogueGraphs().map(([label, g]) => {
      const inputs = inputsFor(g, label.length * 7919);
      const consts = g.constValues.map((t: Tensor) => t.data());
      return { label, g, program: schedule(g, cudaSchedule(false)), inputs, consts };
    });
    const got = emulatePrograms(cxx!, cases);
    const failures: string[] = [];
    cases.forEach((c, j) => {
      const want = evalGraphOracle(c.g, c.inputs, c.consts);
      want.forEach((w, i) => {
        // float32 convolutions accumulate in float32 where the oracle uses float64.
        const m = mismatch(got[j]![i]!, w, c.label.includes('int32') ? 0 : 2e-3);
        if (m) failures.push(`${c.label} output ${i}: ${m}`);
      });
    });
    expect(failures).toEqual([]);
    expect(cases.reduce((s, c) => s + withEpilogue(c.program.kernels).length, 0)).toBeGreaterThan(20);
  }, 600_000);
});
