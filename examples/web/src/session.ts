// A training session in the page: data in memory, batches from the seeded sampler, a jitted
// SGD step on WebGPU, and asynchronous reads of the loss so the page stays responsive.
// Free of the DOM, so the page's wiring (main.ts) stays small.
import { random, tensor, type Tensor } from '@resgrad/core';
import { BatchSampler, IMAGE_BYTES, pixelMean, type Split } from '@resgrad/data';
import { cosine, linearWarmup, type TrainState, trainStep } from '@resgrad/nn';
import { buildModel, disposeReplaced, errorRate, makeEvalStep, paperOptimizer, predict } from '../../cifar10/model.js';

export interface SessionOptions {
  /** 6n+2: 8 trains fastest; 20 is the paper's smallest. */
  depth: number;
  batchSize: number;
  steps: number;
  lr: number;
  seed: number;
  /** Evaluate on the test images every N steps (and at the end). */
  evalEvery: number;
}

export const SESSION_DEFAULTS: SessionOptions = { depth: 8, batchSize: 64, steps: 300, lr: 0.1, seed: 0, evalEvery: 50 };

export interface StepReport {
  step: number;
  loss: number;
  /** Training error of the batch (augmented, training mode). */
  error: number;
  imagesPerSec: number;
}

export interface EvalReport {
  step: number;
  testError: number;
  images: number;
}

export interface SessionEvents {
  onStep(r: StepReport): void;
  onEval(r: EvalReport): void;
}

/**
 * Trains a CIFAR-10 ResNet on `train` and evaluates it on `test` with the current default
 * backend (WebGPU in the page), calling back after every step and evaluation. Stops early
 * when `signal` aborts.
 */
export async function runSession(data: { train: Split; test: Split }, o: SessionOptions, events: SessionEvents, signal?: AbortSignal): Promise<void> {
  const mean = pixelMean(data.train);
  const sampler = new BatchSampler(data.train, { batchSize: Math.min(o.batchSize, data.train.size), seed: o.seed, augment: true, mean });
  const net = buildModel({ depth: o.depth, plain: false, shortcut: 'A' });
  const opt = paperOptimizer(5e-4, 0.9, true);
  const runStep = trainStep(net, opt);
  const evalStep = makeEvalStep(net);
  const schedule = linearWarmup(Math.min(50, Math.floor(o.steps / 10)), cosine({ base: o.lr, totalSteps: o.steps }));
  const init = net.init(random.key(o.seed), [sampler.options.batchSize, 3, 32, 32]);
  let s: TrainState = { params: init.params, state: init.state, optState: opt.init(init.params) };

  const testImages = (start: number, end: number) => {
    const out = new Float32Array((end - start) * IMAGE_BYTES);
    for (let i = start; i < end; i++)
      for (let p = 0; p < IMAGE_BYTES; p++) out[(i - start) * IMAGE_BYTES + p] = (data.test.images[i * IMAGE_BYTES + p]! - mean[p]!) * sampler.scale;
    return out;
  };
  const evaluate = async (step: number) => {
    const scores = await predict(evalStep, s.params, s.state, testImages, data.test.size, 100);
    events.onEval({ step, testError: errorRate(scores, data.test.labels), images: data.test.size });
  };

  let t = performance.now();
  for (let step = 1; step <= o.steps && !signal?.aborted; step++) {
    const epoch = Math.floor((step - 1) / sampler.batchesPerEpoch);
    const batch = sampler.makeBatch(epoch, (step - 1) % sampler.batchesPerEpoch);
    const x = tensor(batch.images, { shape: [batch.size, 3, 32, 32] });
    const y = tensor(batch.labels, { dtype: 'int32' });
    const lr = tensor(schedule(step - 1));
    const out = runStep(s, x, y, lr);
    const [loss, error] = await Promise.all([(out.loss as Tensor).dataAsync(), (out.error as Tensor).dataAsync()]);
    disposeReplaced(s, out.next);
    for (const u of [x, y, lr, out.loss, out.error] as Tensor[]) u.dispose();
    s = out.next;
    const now = performance.now();
    events.onStep({ step, loss: loss[0]!, error: error[0]!, imagesPerSec: (batch.size * 1000) / (now - t) });
    t = now;
    if (step % o.evalEvery === 0 || step === o.steps) await evaluate(step);
    // Let the page paint between steps.
    await new Promise((r) => setTimeout(r, 0));
  }
}
