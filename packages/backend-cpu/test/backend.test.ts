// CPU-specific behaviour of the Backend: registration, compile errors that name the kernel,
// the on-disk cache across executables, and a steady state without arena allocations.
import { mkdtempSync, readdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  add, availableBackends, defaultBackend, exp, jit, makeGraph, mul, schedule, sum, tanh, tensor, type Tensor,
} from '@resgrad/core';
import { compileCpuProgram, cpuBackend, KernelCompileError, renderProgram, type CpuExecutable } from '@resgrad/backend-cpu';

const dir = mkdtempSync(join(tmpdir(), 'resgrad-cpu-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f = (x: Tensor, y: Tensor) => sum(tanh(add(mul(x, y), exp(x))), [1]);
const args = () => [tensor(Float32Array.from({ length: 12 }, (_, i) => i / 7), { shape: [3, 4], backend: 'cpu' }), tensor(Float32Array.from({ length: 12 }, (_, i) => 1 - i / 5), { shape: [3, 4], backend: 'cpu' })];
const programOf = () => {
  const [x, y] = args();
  return schedule(makeGraph(f)(x!, y!));
};

describe('cpu backend', () => {
  it('is registered above the reference backend and is the default', () => {
    const names = availableBackends().map((b) => b.name);
    expect(names.indexOf('cpu')).toBeLessThan(names.indexOf('reference'));
    expect(availableBackends().find((b) => b.name === 'cpu')!.available).toBe(true);
    if (!process.env.RESGRAD_BACKEND) expect(defaultBackend().name).toBe('cpu');
  });

  it('renders a program into one C source without #include', () => {
    const r = renderProgram(programOf());
    expect(r.source).not.toMatch(/#include/);
    expect(r.kernels.filter(Boolean).length).toBeGreaterThan(0);
  });

  it('a compile error names the kernel and keeps the source', () => {
    const program = programOf();
    const bad = program.kernels.findIndex((k) => k.kind === 'fused');
    let err: unknown;
    try {
      compileCpuProgram(program, [], { cacheDir: dir, patchKernel: (i, code) => (i === bad ? code.replace('out[out_at] =', 'out[out_at] = undeclared_symbol +') : code) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelCompileError);
    const e = err as KernelCompileError;
    expect(e.kernels).toEqual([`k${bad}`]);
    expect(e.message).toContain(`kernel k${bad}`);
    expect(e.message).toContain('undeclared_symbol');
    expect(existsSync(e.sourcePath)).toBe(true);
    expect(e.message).toContain(e.sourcePath);
  });

  it('reuses the cached object across executables (one compile per distinct source)', () => {
    const program = programOf();
    const a = compileCpuProgram(program, [], { cacheDir: dir });
    const before = readdirSync(dir).filter((n) => n.endsWith('.so')).length;
    const b = compileCpuProgram(programOf(), [], { cacheDir: dir });
    expect(b.objectPath).toBe(a.objectPath);
    expect(b.objectOrigin).toBe('cached');
    expect(readdirSync(dir).filter((n) => n.endsWith('.so')).length).toBe(before);
  });

  it('running an executable again allocates no new intermediate buffers; outputs are fresh', () => {
    const [x, y] = args();
    const g = makeGraph((p: Tensor, q: Tensor) => [sum(exp(mul(p, q)), [1]), tanh(add(exp(p), q))] as Tensor[])(x!, y!);
    const exe = cpuBackend.compile(g) as CpuExecutable;
    const ins = [x!, y!].map((t) => t._owned!.buffer);
    const o1 = exe.run(ins);
    const allocs = exe.allocations;
    const mem = cpuBackend.memoryInUse!();
    const o2 = exe.run(ins);
    expect(exe.allocations).toBe(allocs);
    expect(o2[0]).not.toBe(o1[0]);
    // Only the two fresh outputs were added.
    const outBytes = o2.reduce((n, b) => n + (b as unknown as { data: Float32Array }).data.byteLength, 0);
    expect(cpuBackend.memoryInUse!() - mem).toBe(outBytes);
    exe.dispose();
  });

  it('jit on cpu agrees with jit on reference for a small function', () => {
    const [x, y] = args();
    const want = jit(f, { backend: 'reference' })(tensor(x!.data(), { shape: [3, 4], backend: 'reference' }), tensor(y!.data(), { shape: [3, 4], backend: 'reference' }));
    const got = jit(f)(x!, y!);
    const w = want.data();
    got.data().forEach((v, i) => expect(Math.abs(v - w[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(w[i]!)));
  });
});
