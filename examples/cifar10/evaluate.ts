// npm run evaluate -- CHECKPOINT [--data PATH] [--batch-size N] [--flip] [--responses N]
// Test error and confusion matrix of a trained model (with --flip, also of the average of the
// scores of each image and its mirror image: test-time augmentation, reported separately); with --responses, the paper's Fig. 7
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
  options: { data: { type: 'string' }, 'batch-size': { type: 'string' }, responses: { type: 'string' }, flip: { type: 'boolean' }, 'test-subset': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
});
if (values.help || positionals.length !== 1) {
  console.log('usage: npm run evaluate -- CHECKPOINT [--data PATH] [--batch-size 500] [--test-subset N] [--flip] [--responses N_IMAGES]');
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
// Pixel p = c*1024 + y*32 + x of image i, normalised; `mirror` reads column 31 - x instead.
const imagesOf = (mirror: boolean) => (start: number, end: number) => {
  const out = new Float32Array((end - start) * IMAGE_BYTES);
  for (let i = start; i < end; i++)
    for (let p = 0; p < IMAGE_BYTES; p++) {
      const q = mirror ? p - (p % 32) + 31 - (p % 32) : p;
      out[(i - start) * IMAGE_BYTES + p] = (test.images[i * IMAGE_BYTES + q]! - mean[q]!) * inputs.scale;
    }
  return out;
};
const batch = int('batch-size', values['batch-size'], 1) ?? 500;
const evalStep = makeEvalStep(net);
const plainScores = await predict(evalStep, ckpt.params, ckpt.state, imagesOf(false), test.size, batch);
const plainErr = errorRate(plainScores, test.labels);
let scores = plainScores;
if (values.flip) {
  // Test-time augmentation: the sum of the softmax probabilities of the image and its mirror.
  const mirrored = await predict(evalStep, ckpt.params, ckpt.state, imagesOf(true), test.size, batch);
  scores = new Float32Array(plainScores.length);
  for (let i = 0; i < test.size; i++) {
    const row = (s: Float32Array) => {
      const r = s.subarray(i * 10, i * 10 + 10);
      const m = Math.max(...r);
      const e = Array.from(r, (v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / z);
    };
    const a = row(plainScores);
    const b = row(mirrored);
    for (let c = 0; c < 10; c++) scores[i * 10 + c] = a[c]! + b[c]!;
  }
}
const err = errorRate(scores, test.labels);

const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
for (let i = 0; i < test.size; i++) {
  let best = 0;
  for (let c = 1; c < 10; c++) if (scores[i * 10 + c]! > scores[i * 10 + best]!) best = c;
  confusion[test.labels[i]!]![best]!++;
}
const w = Math.max(...data.classes.map((c) => c.length));
console.log(`${path} (step ${info.step}): test error ${(plainErr * 100).toFixed(2)} % on ${test.size} images`);
if (values.flip) console.log(`with flip test-time augmentation: ${(err * 100).toFixed(2)} % (the confusion matrix below is of these scores)`);
console.log(`\nconfusion matrix (rows: true class, columns: predicted)\n${' '.repeat(w)} ${data.classes.map((c) => c.slice(0, 5).padStart(6)).join('')}`);
confusion.forEach((row, r) => console.log(`${data.classes[r]!.padEnd(w)} ${row.map((v) => String(v).padStart(6)).join('')}`));
const report: Record<string, unknown> = { checkpoint: path, step: info.step, testError: plainErr, ...(values.flip ? { testErrorFlip: err } : {}), images: test.size, classes: data.classes, confusion };

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
    const r = stds(ckpt.params, ckpt.state, tensor(imagesOf(false)(start, end), { shape: [end - start, 3, 32, 32] }));
    for (const [k, v] of Object.entries(r)) acc.set(k, [...(acc.get(k) ?? []), v.item()]);
  }
  const layers = [...acc.entries()].map(([name, v], i) => ({ index: i + 1, name, std: v.reduce((a, b) => a + b, 0) / v.length }));
  report.responses = layers;
  console.log(`\nlayer responses (std after BN, before ReLU) of ${layers.length} 3x3 layers: ${layers.map((l) => l.std.toFixed(2)).join(' ')}`);
}
const outFile = join(dirname(path), 'evaluation.json');
writeFileSync(outFile, JSON.stringify(report, null, 2));
console.log(`\nwritten ${outFile}`);
