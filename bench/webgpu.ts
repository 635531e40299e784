// `npm run bench -- webgpu [--size=N] [--repeats=N] [--batch=N]`: matmul GFLOP/s and ResNet-20
// training-step images/s (forward + backward + SGD momentum, one jitted step) on whatever WebGPU
// adapter is present (a GPU, or the SwiftShader CPU adapter: run
// `eval "$(scripts/setup-webgpu-adapter.sh | sed 's/^/export /')"` first on a GPU-less machine).
// Each timed run is one jitted matmul, submitted and awaited (read of one element), so the
// figure includes a submission and a readback; the pipeline is compiled in the warm-up.
// Never asserts speed.
import { jit, matmul, random, slice, type Tensor } from '@resgrad/core';
import { resnetTrainSetup } from './lib/resnet-step.js';
import { initWebGPU } from '@resgrad/backend-webgpu';
import { median, now } from './lib/measure.js';
import { emit, numericFlags, printSummary } from './lib/report.js';

const flags = numericFlags(process.argv.slice(2), { size: 0, repeats: 5, warmup: 2, batch: 0 });
const gpu = await initWebGPU();
if ('unavailable' in gpu) {
  console.error(`bench webgpu: the webgpu backend is unavailable: ${gpu.unavailable}`);
  process.exit(1);
}
// SwiftShader runs on the CPU: keep its sizes small.
const cpuAdapter = /swiftshader|llvmpipe|lavapipe/i.test(gpu.description);
const sizes = flags.size ? [flags.size] : cpuAdapter ? [128, 256, 512] : [256, 512, 1024, 2048, 4096];

const corner = jit((c: Tensor) => slice(c, [0, 0], [1, 1]));
const full = jit((a: Tensor, b: Tensor) => matmul(a, b));
for (const n of sizes) {
  const [k1, k2] = random.split(random.key(n, { backend: 'webgpu' }), 2);
  const a = random.uniform(k1!, [n, n]);
  const b = random.uniform(k2!, [n, n]);
  // the product stays on the device; reading one element of it waits for the submission
  const once = async () => {
    const c = full(a, b);
    await corner(c).dataAsync();
    c.dispose();
  };
  for (let i = 0; i < flags.warmup; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < flags.repeats; i++) {
    const t0 = now();
    await once();
    times.push(now() - t0);
  }
  const ms = median(times);
  const gflops = Number(((2 * n * n * n) / (ms * 1e6)).toFixed(2));
  emit({ bench: 'webgpu_matmul', backend: 'webgpu', value: gflops, unit: 'GFLOP/s', n, ms: Number(ms.toFixed(2)), adapter: gpu.description, repeats: flags.repeats }, `${n}x${n} ${ms.toFixed(1)} ms`);
}
// ResNet-20 training step: the state stays on the device; reading the loss waits for the step.
{
  const batch = flags.batch || (cpuAdapter ? 16 : 128);
  const { start, step, x, y } = resnetTrainSetup('webgpu', batch);
  let cur = start;
  const once = async () => {
    const out = step(cur, x, y);
    await out.loss.dataAsync();
    cur = out.next;
  };
  const t0 = now();
  await once();
  const firstMs = now() - t0;
  const times: number[] = [];
  for (let i = 0; i < Math.max(2, Math.min(flags.repeats, cpuAdapter ? 3 : 20)); i++) {
    const t = now();
    await once();
    times.push(now() - t);
  }
  const ms = median(times);
  emit(
    { bench: 'webgpu_resnet20_train', backend: 'webgpu', value: Number(((batch * 1000) / ms).toFixed(2)), unit: 'images/s', batch, ms: Number(ms.toFixed(1)), first_step_ms: Number(firstMs.toFixed(0)), adapter: gpu.description, repeats: times.length },
    `batch ${batch}: ${ms.toFixed(0)} ms/step, first step (compiles) ${firstMs.toFixed(0)} ms`,
  );
}
printSummary(`webgpu on ${gpu.description}`);
gpu.destroy();
