// npm run evaluate -- CHECKPOINT [--data PATH] [--batch-size N] [--responses N]
// Test error and confusion matrix of a trained model; with --responses, the paper's Fig. 7
// statistic (std of each 3x3 layer's output after BN, before ReLU) written for `npm run plot`.
// Registers the native CPU backend (the default wherever a C compiler works).
import '@resgrad/backend-cpu';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { jit, random, sqrt, type Tensor, tensor, variance } from '@resgrad/core';
import { IMAGE_BYTES, readCifar10, subset } from '@resgrad/data';
import { loadCheckpoint, readSafetensors } from '@resgrad/nn';
import { fail, int, resolveData } from './cli.js';
import { buildModel, errorRate, makeEvalStep, type ModelOptions, predict } from './model.js';

const { values, positionals } = parseArgs({
  options: { data: { type: 'string' }, 'batch-size': { type: 'string' }, responses: { type: 'string' }, 'test-subset': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
});
if (values.help || positionals.length !== 1) {
  console.log('usage: npm run evaluate -- CHECKPOINT [--data PATH] [--batch-size 500] [--test-subset N] [--responses N_IMAGES]');
  process.exit(values.help ? 0 : 2);
}
const path = positionals[0]!;
const file = readSafetensors(path);
const info = JSON.parse(file.metadata.resgrad ?? '{}') as { step?: number; metadata?: { model?: ModelOptions; inputs?: { mean: number[]; scale: number } } };
const model = info.metadata?.model;
const inputs = info.metadata?.inputs;
if (!model || !inputs) fail(`${path} has no model description (was it written by npm run train?)`);

const net = buildModel(model);
const template = net.init(random.key(0), [1, 3, 32, 32]);
const ckpt = loadCheckpoint(path, template);
const data = await readCifar10(await resolveData(values.data));
const test = values['test-subset'] ? subset(data.test, int('test-subset', values['test-subset'], 1)!) : data.test;
const mean = Float32Array.from(inputs.mean);
const images = (start: number, end: number) => {
  const out = new Float32Array((end - start) * IMAGE_BYTES);
  for (let i = start; i < end; i++)
    for (let p = 0; p < IMAGE_BYTES; p++) out[(i - start) * IMAGE_BYTES + p] = (test.images[i * IMAGE_BYTES + p]! - mean[p]!) * inputs.scale;
  return out;
};
const batch = int('batch-size', values['batch-size'], 1) ?? 500;
const scores = predict(makeEvalStep(net), ckpt.params, ckpt.state, images, test.size, batch);
const err = errorRate(scores, test.labels);

const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
for (let i = 0; i < test.size; i++) {
  let best = 0;
  for (let c = 1; c < 10; c++) if (scores[i * 10 + c]! > scores[i * 10 + best]!) best = c;
  confusion[test.labels[i]!]![best]!++;
}
const w = Math.max(...data.classes.map((c) => c.length));
console.log(`${path} (step ${info.step}): test error ${(err * 100).toFixed(2)} % on ${test.size} images`);
console.log(`\nconfusion matrix (rows: true class, columns: predicted)\n${' '.repeat(w)} ${data.classes.map((c) => c.slice(0, 5).padStart(6)).join('')}`);
confusion.forEach((row, r) => console.log(`${data.classes[r]!.padEnd(w)} ${row.map((v) => String(v).padStart(6)).join('')}`));
const report: Record<string, unknown> = { checkpoint: path, step: info.step, testError: err, images: test.size, classes: data.classes, confusion };

if (values.responses) {
  // Fig. 7: the std of each 3x3 conv layer's BN output (before the ReLU), in network order.
  const n = int('responses', values.responses, 1)!;
  const isResponse = (name: string) => /(^|\.)bn[12]$/.test(name) && !name.includes('downsample');
  const stds = jit((params: any, state: any, x: Tensor) => {
    const out: Record<string, Tensor> = {};
    net.apply(params, state, x, { train: false, probe: (name, t) => void (isResponse(name) && (out[name] = sqrt(variance(t)))) });
    return out;
  });
  const acc = new Map<string, number[]>();
  for (let start = 0; start < Math.min(n, test.size); start += batch) {
    const end = Math.min(n, test.size, start + batch);
    const r = stds(ckpt.params, ckpt.state, tensor(images(start, end), { shape: [end - start, 3, 32, 32] }));
    for (const [k, v] of Object.entries(r)) acc.set(k, [...(acc.get(k) ?? []), v.item()]);
  }
  const layers = [...acc.entries()].map(([name, v], i) => ({ index: i + 1, name, std: v.reduce((a, b) => a + b, 0) / v.length }));
  report.responses = layers;
  console.log(`\nlayer responses (std after BN, before ReLU) of ${layers.length} 3x3 layers: ${layers.map((l) => l.std.toFixed(2)).join(' ')}`);
}
const outFile = join(dirname(path), 'evaluation.json');
writeFileSync(outFile, JSON.stringify(report, null, 2));
console.log(`\nwritten ${outFile}`);
