// `npm run bench -- cpu-epilogues [--batch 128] [--rounds 7]`: what library epilogues buy on
// the cpu backend. Compiles the ResNet-20 training step and inference twice in one process,
// once with epilogues (the default) and once with RESGRAD_CPU_EPILOGUES=0 (every library
// result stored, the elementwise chains as kernels of their own), then times the two
// alternately, round after round, so that load on this shared machine hits both alike.
// Prints medians and the ratio of the paired times (without / with).
import { getBackend, jit, type Tensor } from '@resgrad/core';
import '@resgrad/backend-cpu';
import { type ParamTree, sgd, trainStep } from '@resgrad/nn';
import { resnetTrainSetup } from './lib/resnet-step.js';
import { median, now } from './lib/measure.js';
import { emit, printSummary } from './lib/report.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const batch = flag('batch', 128);
const rounds = flag('rounds', 7);

getBackend('cpu');
const r = resnetTrainSetup('cpu', batch);
// Each arm compiles its own executables while the variable says which schedule to use.
const arm = (epilogues: boolean) => {
  process.env.RESGRAD_CPU_EPILOGUES = epilogues ? '1' : '0';
  const infer = jit((p: ParamTree, s: ParamTree, xb: Tensor) => r.net.apply(p, s, xb, { train: false })[0] as Tensor);
  const step = trainStep(r.net, sgd({ lr: 0.1, momentum: 0.9, weightDecay: 1e-4 }));
  const runInfer = () => infer(r.start.params, r.start.state, r.x).data();
  const runStep = () => step(r.start, r.x, r.y).loss.data();
  runInfer();
  runStep();
  delete process.env.RESGRAD_CPU_EPILOGUES;
  return { runInfer, runStep };
};
const arms = { with: arm(true), without: arm(false) };
const times = { train: { with: [] as number[], without: [] as number[] }, infer: { with: [] as number[], without: [] as number[] } };
for (let i = 0; i < rounds; i++)
  for (const name of ['with', 'without'] as const) {
    let t = now();
    arms[name].runStep();
    times.train[name].push(now() - t);
    t = now();
    arms[name].runInfer();
    times.infer[name].push(now() - t);
  }
for (const what of ['train', 'infer'] as const) {
  const w = times[what];
  const pairs = w.with.map((t, i) => w.without[i]! / t);
  for (const name of ['with', 'without'] as const)
    emit({ bench: `resnet20_${what}_${name}_epilogues`, backend: 'cpu', value: Math.round((batch / median(w[name])) * 10000) / 10, unit: 'images/s', batch, rounds });
  emit({ bench: `resnet20_${what}_epilogue_gain`, backend: 'cpu', value: Math.round(median(pairs) * 1000) / 1000, unit: 'ratio', peer: 'cpu without epilogues', ratio: median(pairs) });
}
printSummary(`library epilogues on the cpu backend (ResNet-20, batch ${batch}, ${rounds} interleaved rounds)`);
