// `npm run test:cuda`: the CUDA checks that need no GPU.
// 1. Every distinct kernel of the corpus (see test/corpus.ts) compiles with
//    `nvcc -cubin -arch=sm_90 -Xptxas -v`, batched into a few translation units; the library
//    kernels spill no registers. Fails when nvcc exists but nothing was compiled, or when the
//    corpus has no library kernel with an epilogue (epilogue-corpus.ts).
// 2. The same units compile through our koffi binding of NVRTC (Debian's libnvrtc 11.8,
//    fetched by scripts/fetch-nvrtc.sh), without any header, to PTX and to an sm_90 CUBIN.
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cudaDialect, Nvrtc } from '@resgrad/backend-cuda';
import { corpus, primitivePrograms } from '../test/corpus.js';
import { batchUnits, compileWithNvcc, findNvcc, type NvccResult, uniqueKernels, type Unit } from '../test/units.js';

const UNITS = Number(process.env.RESGRAD_CUDA_UNITS ?? 8);
const nvcc = findNvcc();
let units: Unit[] = [];
let kernelCount = 0;

beforeAll(() => {
  const t0 = performance.now();
  const entries = corpus(Number(process.env.RESGRAD_CUDA_RANDOM ?? 40));
  const kernels = uniqueKernels(entries);
  kernelCount = kernels.length;
  units = batchUnits(kernels, UNITS);
  const lib = kernels.filter((k) => k.kind === 'library').length;
  const epi = kernels.filter((k) => k.epilogue).length;
  console.log(
    `cuda corpus: ${entries.length} programs, ${kernels.length} distinct kernels (${lib} library, ${epi} of them with an epilogue), ${units.length} units, ` +
      `rendered in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}, 300_000);

describe.skipIf(!nvcc)('nvcc -cubin -arch=sm_90', () => {
  let results: NvccResult[] = [];
  beforeAll(async () => {
    const t0 = performance.now();
    results = await compileWithNvcc(nvcc!, units, Number(process.env.RESGRAD_CUDA_JOBS ?? 2));
    console.log(`nvcc: ${results.length} units in ${((performance.now() - t0) / 1000).toFixed(1)} s (${nvcc})`);
  }, 600_000);

  it('compiles every kernel of the corpus', () => {
    const failed = results.filter((r) => !r.ok);
    for (const f of failed) console.error(`${f.unit.name} failed:\n${f.output.slice(0, 6000)}`);
    expect(failed.map((f) => f.unit.name)).toEqual([]);
    const compiled = new Set(results.flatMap((r) => r.reports.map((x) => x.name)));
    const expected = units.flatMap((u) => u.kernels.flatMap((k) => k.functions));
    // The guard of CI: nvcc is here, so zero compiled kernels is a failure, not a pass.
    expect(compiled.size).toBeGreaterThan(0);
    expect(expected.filter((f) => !compiled.has(f))).toEqual([]);
    console.log(`nvcc: ${compiled.size} kernel functions compiled (${kernelCount} distinct kernels)`);
  });

  it('spills no registers in library kernels', () => {
    const lib = new Set(units.flatMap((u) => u.kernels.filter((k) => k.kind === 'library').flatMap((k) => k.functions)));
    const reports = results.flatMap((r) => r.reports);
    const libReports = reports.filter((r) => lib.has(r.name));
    expect(libReports.length).toBe(lib.size);
    const spilled = libReports.filter((r) => r.spillStores > 0 || r.spillLoads > 0);
    expect(spilled.map((r) => `${r.name}: ${r.spillStores} B stores, ${r.spillLoads} B loads`)).toEqual([]);
    const regs = libReports.map((r) => r.registers);
    const fused = reports.filter((r) => !lib.has(r.name));
    const fusedSpills = fused.filter((r) => r.spillStores > 0);
    // Library kernels with an epilogue: the functions that apply it (the split-K sum, or the tiled kernel).
    const epiFns = new Set(units.flatMap((u) => u.kernels.filter((k) => k.epilogue).map((k) => k.name)));
    const epiReports = libReports.filter((r) => epiFns.has(r.name));
    expect(epiReports.length).toBeGreaterThan(0);
    const epiRegs = epiReports.map((r) => r.registers);
    console.log(
      `ptxas: library kernels with an epilogue ${epiReports.length}, registers ${Math.min(...epiRegs)}..${Math.max(...epiRegs)}, ` +
        `stack frames up to ${Math.max(...epiReports.map((r) => r.stackBytes))} B, spills 0`,
    );
    console.log(
      `ptxas: library kernels ${libReports.length}, registers ${Math.min(...regs)}..${Math.max(...regs)}, spills 0; ` +
        `fused kernels ${fused.length}, registers up to ${Math.max(0, ...fused.map((r) => r.registers))}, ` +
        `${fusedSpills.length} with stack spills (double-precision math slow paths)`,
    );
  });
});

if (!nvcc) it('nvcc', () => console.log('skipped: no nvcc (set RESGRAD_NVCC or put nvcc on PATH)'));

/** Where scripts/fetch-nvrtc.sh unpacked Debian's NVRTC, if it did. */
function fetchedNvrtc(): string | null {
  const cache = process.env.RESGRAD_NVRTC_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'resgrad', 'nvrtc-deb');
  const lib = join(cache, 'root/usr/lib/x86_64-linux-gnu');
  return existsSync(lib) && readdirSync(lib).some((f) => f.startsWith('libnvrtc.so')) ? lib : null;
}

describe('NVRTC through koffi', () => {
  let nvrtc: Nvrtc | { unavailable: string };
  beforeAll(() => {
    const lib = fetchedNvrtc();
    // Prefer the fetched copy; a toolkit's NVRTC found by discovery serves too.
    if (lib) process.env.RESGRAD_CUDA_PATH = [lib, process.env.RESGRAD_CUDA_PATH].filter(Boolean).join(':');
    nvrtc = Nvrtc.load();
    if ('unavailable' in nvrtc) console.log(`skipped: ${nvrtc.unavailable} (run packages/backend-cuda/scripts/fetch-nvrtc.sh)`);
  });

  it('compiles every unit to PTX and to an sm_90 CUBIN, without headers', (ctx) => {
    if ('unavailable' in nvrtc) return ctx.skip();
    const n = nvrtc;
    const archs = n.supportedArchs();
    const [maj, min] = n.version();
    const cubinArch = archs.includes(90) ? 'sm_90' : `sm_${Math.max(...archs)}`;
    const t0 = performance.now();
    let ptxBytes = 0;
    let cubinBytes = 0;
    for (const u of units) {
      expect(u.source).not.toMatch(/#include/);
      const ptx = n.compile(u.source, 'compute_80', { name: `${u.name}.cu` });
      expect(ptx.kind).toBe('ptx');
      const text = Buffer.from(ptx.image).toString('latin1');
      for (const f of u.kernels.flatMap((k) => k.functions)) expect(text).toContain(`.entry ${f}(`);
      ptxBytes += ptx.image.length;
      const cubin = n.compile(u.source, cubinArch, { name: `${u.name}.cu` });
      expect(Buffer.from(cubin.image.subarray(0, 4)).toString('latin1')).toBe('\x7fELF');
      cubinBytes += cubin.image.length;
    }
    console.log(
      `nvrtc ${maj}.${min} (${n.path}): ${units.length} units (${kernelCount} kernels) -> PTX compute_80 ${(ptxBytes / 1024).toFixed(0)} KiB ` +
        `and CUBIN ${cubinArch} ${(cubinBytes / 1024).toFixed(0)} KiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }, 600_000);

  it('compiles the fast-math dialect and reports compile errors with the log', (ctx) => {
    if ('unavailable' in nvrtc) return ctx.skip();
    const n = nvrtc;
    const fast = batchUnits(uniqueKernels(primitivePrograms(), cudaDialect({ fastMath: true })), 1)[0]!;
    expect(n.compile(fast.source, 'compute_80').image.length).toBeGreaterThan(0);
    let err: unknown;
    try {
      n.compile('extern "C" __global__ void broken(float *x) { x[0] = undeclared; }', 'compute_80', { name: 'broken.cu' });
    } catch (e) {
      err = e;
    }
    expect(String(err)).toMatch(/nvrtcCompileProgram failed with NVRTC_ERROR_COMPILATION \(6\)/);
    expect(String(err)).toMatch(/broken\.cu.*undeclared/s);
  });
});
