// `npm run bench -- gpujs [--size=N] [--repeats=N]`: the measurement behind the README's decision
// on gpu.js (named in the original design as a fallback): an N x N float32 matmul in gpu.js's
// modes that run in Node (webasm, cpu, and webgpu with navigator.gpu lent from Dawn), next to
// resgrad's cpu backend and, when an adapter is set up, its webgpu backend, in the same process. gpu.js is not a dependency of resgrad: install it
// beside the repository (`npm install --prefix ../gpujs gpu.js@2.24.1`) and point
// RESGRAD_GPUJS at that folder's node_modules/gpu.js. Never asserts speed.
import { createRequire } from 'node:module';
import { jit, matmul, slice, type Tensor, tensor } from '@resgrad/core';
import '@resgrad/backend-cpu';
import { initWebGPU } from '@resgrad/backend-webgpu';
import { timeRunsAsync } from './lib/measure.js';
import { emit, numericFlags, printSummary } from './lib/report.js';

const flags = numericFlags(process.argv.slice(2), { size: 512, repeats: 5 });
const n = flags.size;
const gflops = (ms: number) => Number(((2 * n ** 3) / (ms * 1e6)).toFixed(3));
const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
const b = Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);

// One warm-up run (it compiles), then the median of the timed ones.
const timeIt = async (run: () => unknown | Promise<unknown>): Promise<number> =>
  (await timeRunsAsync(run, { warmup: 1, repeats: flags.repeats })).median;

// resgrad's cpu backend gives the result every contender is checked against.
const tensorOf = (x: Float32Array, backend: string) => tensor(x, { shape: [n, n], backend });
const cpuA = tensorOf(a, 'cpu');
const cpuB = tensorOf(b, 'cpu');
const mm = jit((x: Tensor, y: Tensor) => matmul(x, y));
const want = mm(cpuA, cpuB).data() as Float32Array;
const maxErr = (got: ArrayLike<number>) => {
  let e = 0;
  for (let i = 0; i < want.length; i++) e = Math.max(e, Math.abs(got[i]! - want[i]!));
  return e;
};
const cpuMs = await timeIt(() => mm(cpuA, cpuB).data());
emit({ bench: 'matmul', backend: 'resgrad cpu', value: gflops(cpuMs), unit: 'GFLOP/s', n, ms: Number(cpuMs.toFixed(2)) });

// The pure-TypeScript reference backend: what runs where neither a C compiler nor WebGPU exists.
{
  const ra = tensorOf(a, 'reference');
  const rb = tensorOf(b, 'reference');
  const ms = await timeIt(() => mm(ra, rb).data());
  emit({ bench: 'matmul', backend: 'resgrad reference', value: gflops(ms), unit: 'GFLOP/s', n, ms: Number(ms.toFixed(2)), max_abs_err: maxErr(mm(ra, rb).data()) });
}

const gpuTensors = await initWebGPU();
if (!('unavailable' in gpuTensors)) {
  const ga = tensorOf(a, 'webgpu');
  const gb = tensorOf(b, 'webgpu');
  const corner = jit((c: Tensor) => slice(c, [0, 0], [1, 1]));
  const ms = await timeIt(async () => {
    const c = mm(ga, gb);
    await corner(c).dataAsync();
    c.dispose();
  });
  emit({ bench: 'matmul', backend: 'resgrad webgpu', value: gflops(ms), unit: 'GFLOP/s', n, ms: Number(ms.toFixed(2)), adapter: gpuTensors.description, max_abs_err: maxErr((await mm(ga, gb).dataAsync()) as Float32Array) });
} else console.error(`resgrad webgpu: skipped (${gpuTensors.unavailable})`);

const where = process.env.RESGRAD_GPUJS;
if (!where) {
  console.error('gpu.js: skipped (set RESGRAD_GPUJS to an installed node_modules/gpu.js; see the header of bench/gpujs.ts)');
} else {
  const { GPU } = createRequire(import.meta.url)(where) as { GPU: new (o?: { mode?: string }) => GpuJs };
  // gpu.js's WebGPU mode looks for navigator.gpu, which Node 20 lacks: lend it Dawn's.
  const nav = globalThis as { navigator?: { gpu?: unknown } };
  if (!nav.navigator?.gpu) {
    const dawn = (await import('webgpu')) as { create(o: string[]): unknown };
    Object.defineProperty(globalThis, 'navigator', { value: { ...(nav.navigator ?? {}), gpu: dawn.create([]) }, configurable: true });
  }
  for (const mode of ['webasm', 'cpu', 'default', 'webgpu']) {
    try {
      const gpu = new GPU(mode === 'default' ? undefined : { mode });
      const kernel = gpu
        .createKernel(function (this: { thread: { x: number; y: number }; constants: { n: number } }, x: number[][], y: number[][]) {
          let s = 0;
          for (let k = 0; k < this.constants.n; k++) s += x[this.thread.y]![k]! * y[k]![this.thread.x]!;
          return s;
        })
        .setConstants({ n })
        .setOutput([n, n]);
      const rows = (m: Float32Array) => Array.from({ length: n }, (_, i) => m.subarray(i * n, (i + 1) * n));
      const [xa, xb] = [rows(a), rows(b)];
      let out: ArrayLike<number>[] = [];
      const ms = await timeIt(async () => (out = (await kernel(xa, xb)) as ArrayLike<number>[]));
      const flat = new Float32Array(n * n);
      out.forEach((r, i) => flat.set(Array.from(r), i * n));
      emit({ bench: 'matmul', backend: `gpu.js ${mode === 'default' ? `default (${gpu.mode ?? kernel.constructor?.name})` : mode}`, value: gflops(ms), unit: 'GFLOP/s', n, ms: Number(ms.toFixed(2)), max_abs_err: maxErr(flat) });
      gpu.destroy?.();
    } catch (e) {
      console.error(`gpu.js ${mode}: failed: ${(e as Error).message.split('\n')[0]}`);
    }
  }
}
printSummary(`${n}x${n} float32 matmul`);

interface GpuJs {
  mode?: string;
  createKernel(fn: unknown): { setConstants(c: object): { setOutput(o: number[]): ((...args: unknown[]) => unknown) & { constructor?: { name?: string } } } };
  destroy?(): void;
}
