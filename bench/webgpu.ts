// `npm run bench -- webgpu [--size=N] [--repeats=N] [--batch=N]`: matmul GFLOP/s, long
// reductions (with subgroup operations where the device has them, and with the workgroup tree
// on the same device), and ResNet-20 training-step images/s (forward + backward + SGD
// momentum, one jitted step) on whatever WebGPU adapter is present (a GPU, or the SwiftShader
// CPU adapter: run `eval "$(scripts/setup-webgpu-adapter.sh | sed 's/^/export /')"` first on a
// GPU-less machine). Where the device has 'shader-f16', the matmul is also timed with f16
// tiles (matmulPrecision 'f16'). Each timed run is one jitted call, submitted and awaited (read
// of one element), so the figure includes a submission and a readback; the pipeline is
// compiled in the warm-up. `--subgroups=0` turns subgroup reductions off for the whole run (an
// A/B of the training step). The training step is timed with library epilogues (the elementwise
// chain after each convolution and matmul evaluated in its kernel) and without (a second backend
// on the same device, `libraryEpilogues: false`), the two steps interleaved so that both see the
// same machine load; `--epilogues=1` or `--epilogues=0` times one of them only. `--steps=N`:
// timed training steps per arm (default 3 on a CPU adapter, else --repeats up to 20). Never
// asserts speed.
import { jit, matmul, random, registerBackend, setDefaultBackend, slice, sum, type Tensor } from '@resgrad/core';
import { resnetTrainSetup } from './lib/resnet-step.js';
import { initWebGPU, WebGPUBackend } from '@resgrad/backend-webgpu';
import { median, now, timeRunsAsync } from './lib/measure.js';
import { emit, numericFlags, printSummary } from './lib/report.js';

// epilogues: 2 = the training step both ways (A/B), 1 = with library epilogues only, 0 = without
const flags = numericFlags(process.argv.slice(2), { size: 0, repeats: 5, warmup: 2, batch: 0, subgroups: 1, epilogues: 2, steps: 0 });
const gpu = await initWebGPU({ subgroups: flags.subgroups !== 0, libraryEpilogues: flags.epilogues !== 0 });
if ('unavailable' in gpu) {
  console.error(`bench webgpu: the webgpu backend is unavailable: ${gpu.unavailable}`);
  process.exit(1);
}
// SwiftShader runs on the CPU: keep its sizes small.
const cpuAdapter = /swiftshader|llvmpipe|lavapipe/i.test(gpu.description);
const sizes = flags.size ? [flags.size] : cpuAdapter ? [128, 256, 512] : [256, 512, 1024, 2048, 4096];

const device: WebGPUBackend = gpu;
const features = { subgroups: gpu.shaderFeatures.subgroups, matmul_precision: gpu.matmulPrecision };

/** Median ms of `run` (one submission, awaited through a read) after the warm-up. */
const time = async (run: () => Promise<void>): Promise<number> =>
  (await timeRunsAsync(run, { warmup: flags.warmup, repeats: flags.repeats })).median;

/** A second backend on the same device with other shader choices (registered as `name`). */
function variant(name: string, options: ConstructorParameters<typeof WebGPUBackend>[1]): string {
  const b = new WebGPUBackend(device.acquired, { ...options, name });
  registerBackend({ name, priority: -1, load: () => b });
  return name;
}
const backends = [{ name: 'webgpu', ...features }];
if (gpu.device.features.has('shader-f16')) backends.push({ name: variant('webgpu-f16', { matmulPrecision: 'f16' }), subgroups: features.subgroups, matmul_precision: 'f16' });
else console.error(`bench webgpu: ${gpu.description} has no 'shader-f16': f16 matmul tiles not measured`);
setDefaultBackend('webgpu'); // registering a backend resets the default

const corner = jit((c: Tensor) => slice(c, [0, 0], [1, 1]));
const full = jit((a: Tensor, b: Tensor) => matmul(a, b));
for (const { name, ...how } of backends) {
  for (const n of sizes) {
    const [k1, k2] = random.split(random.key(n, { backend: name }), 2);
    const a = random.uniform(k1!, [n, n]);
    const b = random.uniform(k2!, [n, n]);
    // the product stays on the device; reading one element of it waits for the submission
    const ms = await time(async () => {
      const c = full(a, b);
      await corner(c).dataAsync();
      c.dispose();
    });
    const gflops = Number(((2 * n * n * n) / (ms * 1e6)).toFixed(2));
    emit({ bench: 'webgpu_matmul', backend: name, value: gflops, unit: 'GFLOP/s', n, ms: Number(ms.toFixed(2)), ...how, adapter: gpu.description, repeats: flags.repeats }, `${n}x${n} ${ms.toFixed(1)} ms (${how.matmul_precision})`);
  }
}

// Long reductions: a BatchNorm statistic of ResNet-20's first stage (sum over N, H, W of
// [16, 16, 32, 32]: 16 outputs of 16384 terms) and row sums of [64, 4096]; with subgroups
// (where available) and with the workgroup-memory tree on the same device.
{
  const reducers = [{ name: 'webgpu', subgroups: features.subgroups }];
  if (features.subgroups) reducers.push({ name: variant('webgpu-tree', { subgroups: false }), subgroups: false });
  setDefaultBackend('webgpu');
  const first = jit((c: Tensor) => slice(c, [0], [1]));
  for (const [shape, axes] of [[[16, 16, 32, 32], [0, 2, 3]], [[64, 4096], [1]]] as const) {
    const f = jit((x: Tensor) => sum(x, [...axes]));
    for (const { name, subgroups } of reducers) {
      const x = random.uniform(random.key(1, { backend: name }), [...shape]);
      const ms = await time(async () => {
        const s = f(x);
        await first(s).dataAsync();
        s.dispose();
      });
      const elements = shape.reduce((a, b) => a * b, 1);
      emit(
        { bench: 'webgpu_reduce_sum', backend: name, value: Number(ms.toFixed(2)), unit: 'ms', shape: [...shape], axes: [...axes], subgroups, melem_per_s: Number((elements / (ms * 1e3)).toFixed(1)), adapter: gpu.description, repeats: flags.repeats },
        `sum [${shape.join(', ')}] over [${axes.join(', ')}] (${subgroups ? 'subgroups' : 'tree'})`,
      );
    }
  }
}
// ResNet-20 training step: the state stays on the device; reading the loss waits for the step.
// With and without library epilogues, the timed steps alternating between the two backends.
{
  const batch = flags.batch || (cpuAdapter ? 16 : 128);
  const arms = [{ name: 'webgpu', library_epilogues: flags.epilogues !== 0 }];
  if (flags.epilogues === 2)
    arms.push({ name: variant('webgpu-no-epilogues', { subgroups: features.subgroups, matmulPrecision: gpu.matmulPrecision, libraryEpilogues: false }), library_epilogues: false });
  const runs = arms.map((arm) => {
    // init and the optimizer make some tensors on the default backend: that of the arm
    setDefaultBackend(arm.name);
    const { start, step, x, y } = resnetTrainSetup(arm.name, batch);
    let cur = start;
    const once = async () => {
      setDefaultBackend(arm.name);
      const t = now();
      const out = step(cur, x, y);
      await out.loss.dataAsync();
      cur = out.next;
      return now() - t;
    };
    return { arm, once, firstMs: 0, times: [] as number[] };
  });
  for (const r of runs) r.firstMs = await r.once();
  const repeats = flags.steps || Math.max(2, Math.min(flags.repeats, cpuAdapter ? 3 : 20));
  for (let i = 0; i < repeats; i++) for (const r of runs) r.times.push(await r.once());
  for (const { arm, firstMs, times } of runs) {
    const ms = median(times);
    emit(
      { bench: 'webgpu_resnet20_train', backend: arm.name, value: Number(((batch * 1000) / ms).toFixed(2)), unit: 'images/s', batch, ms: Number(ms.toFixed(1)), first_step_ms: Number(firstMs.toFixed(0)), ...features, library_epilogues: arm.library_epilogues, adapter: gpu.description, repeats: times.length },
      `batch ${batch}: ${ms.toFixed(0)} ms/step, first step (compiles) ${firstMs.toFixed(0)} ms, epilogues ${arm.library_epilogues ? 'on' : 'off'}`,
    );
  }
  if (runs.length === 2) {
    // each timed step without epilogues over the step with them just before it: the ratio of
    // neighbours, less sensitive than two medians to load that drifts during the run
    const ratios = runs[1]!.times.map((t, i) => t / runs[0]!.times[i]!);
    emit(
      { bench: 'webgpu_resnet20_epilogue_speedup', backend: 'webgpu', value: Number(median(ratios).toFixed(3)), unit: 'x', batch, ratios: ratios.map((r) => Number(r.toFixed(3))), adapter: gpu.description },
      'step time without library epilogues / with them (median of interleaved pairs)',
    );
  }
  setDefaultBackend('webgpu');
}
printSummary(`webgpu on ${gpu.description}`);
gpu.destroy();
