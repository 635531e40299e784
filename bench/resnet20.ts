// `npm run bench -- resnet20 [--batch 128] [--steps 5] [--backend cpu]`: ResNet-20 option A
// training-step throughput (forward + backward + SGD momentum, one jitted step) and
// inference throughput in images/s, first-step latency (compiles; the cpu backend with a
// fresh kernel cache), warm start (a second process on the now warm cache), peak RSS; and
// PyTorch on the same inputs when `python3 -c 'import torch'` works. JSON lines on stdout.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getBackend, jit, type Tensor } from '@resgrad/core';
import '@resgrad/backend-cpu';
import type { ParamTree } from '@resgrad/nn';
import { resnetTrainSetup } from './lib/resnet-step.js';
import { median, now } from './lib/measure.js';
import { emit, printSummary } from './lib/report.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : dflt;
};
const batch = Number(flag('batch', '128'));
const steps = Number(flag('steps', '5'));
const backend = flag('backend', 'cpu');
const child = argv.includes('--warm-child');

const withoutCache = (env: NodeJS.ProcessEnv) => {
  const { RESGRAD_CACHE_DIR: _drop, ...rest } = env;
  return rest;
};

function setup() {
  getBackend(backend); // loads (and builds, if needed) the runtime outside the timings
  const r = resnetTrainSetup(backend, batch);
  const infer = jit((p: ParamTree, s: ParamTree, xb: Tensor) => r.net.apply(p, s, xb, { train: false })[0]);
  return { ...r, infer };
}

// The runtime (GEMM, conv) loads from the usual cache; generated kernels go to a cache folder
// of this run (RESGRAD_BENCH_KERNEL_CACHE in the warm-start child), read at each compile.
getBackend(backend);
if (child) {
  // Warm start: a fresh process, kernel objects already in the cache.
  process.env.RESGRAD_CACHE_DIR = process.env.RESGRAD_BENCH_KERNEL_CACHE!;
  const t0 = now();
  const s = setup();
  s.step(s.start, s.x, s.y).loss.data();
  process.stdout.write(`${JSON.stringify({ warm_ms: now() - t0 })}\n`);
  process.exit(0);
}

// A fresh kernel cache so the first step pays the compiles (the runtime is built in setup()).
const cache = mkdtempSync(join(tmpdir(), 'resgrad-bench-cache-'));
const runtimeCache = process.env.RESGRAD_CACHE_DIR;
process.env.RESGRAD_CACHE_DIR = cache;
try {
  const s = setup();
  let cur = s.start;
  const stepOnce = () => {
    const out = s.step(cur, s.x, s.y);
    cur = out.next;
    return out.loss.data()[0]!;
  };
  let t = now();
  const loss0 = stepOnce();
  const firstMs = now() - t;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    t = now();
    stepOnce();
    times.push(now() - t);
  }
  const trainMs = median(times);
  emit({ bench: 'resnet20_train', backend, value: Math.round((batch / trainMs) * 1000 * 10) / 10, unit: 'images/s', batch, steps, median_ms: Math.round(trainMs), loss0 });
  emit({ bench: 'resnet20_first_step', backend, value: Math.round(firstMs), unit: 'ms', note: 'compile + first run, empty kernel cache' });

  const inferOnce = () => (s.infer(cur.params, cur.state, s.x) as Tensor).data();
  t = now();
  inferOnce();
  const firstInfer = now() - t;
  const it: number[] = [];
  for (let i = 0; i < steps; i++) {
    t = now();
    inferOnce();
    it.push(now() - t);
  }
  emit({ bench: 'resnet20_infer', backend, value: Math.round((batch / median(it)) * 1000 * 10) / 10, unit: 'images/s', batch, first_ms: Math.round(firstInfer) });

  const script = fileURLToPath(import.meta.url);
  const warm = spawnSync(process.execPath, ['--import', 'tsx', script, '--warm-child', '--batch', String(batch), '--backend', backend], {
    encoding: 'utf8', env: { ...withoutCache(process.env), RESGRAD_BENCH_KERNEL_CACHE: cache, ...(runtimeCache === undefined ? {} : { RESGRAD_CACHE_DIR: runtimeCache }) },
  });
  const warmMs = /"warm_ms":([\d.]+)/.exec(warm.stdout)?.[1];
  if (warmMs) emit({ bench: 'resnet20_warm_start', backend, value: Math.round(Number(warmMs)), unit: 'ms', note: 'second process: setup + first step, cached objects' });
  else process.stderr.write(`warm start child failed:\n${warm.stderr}\n`);
  emit({ bench: 'resnet20_peak_rss', backend, value: Math.round(process.resourceUsage().maxRSS / 1024), unit: 'MB' });

  // The PyTorch peer: the first Python that imports torch (RESGRAD_PYTHON, python3 on the
  // PATH, then Debian's /usr/bin/python3, where apt-get install python3-torch puts it).
  const candidates = [process.env.RESGRAD_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  const python = candidates.find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
  if (!python) {
    process.stderr.write(`pytorch peer skipped: none of ${candidates.join(', ')} can import torch; Debian: apt-get install python3-torch\n`);
  } else {
    const py = spawnSync(python, [join(script, '..', 'lib', 'resnet20_torch.py'), String(batch), String(steps), String(availableParallelism())], { encoding: 'utf8' });
    for (const line of py.stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const m = JSON.parse(line) as { bench: string; value: number };
      process.stdout.write(`${line}\n`);
      const ours = { resnet20_train: batch / trainMs * 1000, resnet20_infer: batch / median(it) * 1000 }[m.bench];
      if (ours) emit({ bench: `${m.bench}_vs_pytorch`, backend, value: Math.round((ours / m.value) * 100) / 100, unit: 'ratio', peer: 'pytorch', ratio: ours / m.value });
    }
    if (py.status !== 0) process.stderr.write(`pytorch peer failed:\n${py.stderr}\n`);
  }
  printSummary(`resnet20 on ${backend} (batch ${batch}, ${steps} timed steps)`);
} finally {
  rmSync(cache, { recursive: true, force: true });
  if (runtimeCache === undefined) delete process.env.RESGRAD_CACHE_DIR;
}
