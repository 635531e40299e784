// The CIFAR-10 training loop: data, schedule, jitted steps, progress, metrics, checkpoints, resume.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { full, getBackend, random, tensor, type Tensor } from '@resgrad/core';
import { BatchLoader, IMAGE_BYTES, pixelMean, readCifar10, type Split, subset, validationSplit } from '@resgrad/data';
import {
  cosine, errorWarmup, linearWarmup, loadCheckpoint, oneCycle, paperSchedule, saveCheckpoint, type Schedule, type ShortcutOption,
  type ParamTree, type TrainState, trainStep,
} from '@resgrad/nn';
import { buildModel, disposeReplaced, errorRate, makeEvalStep, paperOptimizer, predict } from './model.js';

export interface TrainOptions {
  depth: number;
  plain: boolean;
  shortcut: ShortcutOption;
  backend?: string;
  batchSize: number;
  /** Total updates; `epochs` (if set) wins. */
  iterations: number;
  epochs?: number;
  lr: number;
  schedule: 'paper' | 'cosine' | 'onecycle';
  /** 0: none; N > 0: linear warm-up over N steps; 'error': 0.01 until training error < 80 % (the paper's ResNet-110). */
  warmup: number | 'error';
  weightDecay: number;
  momentum: number;
  /** Nesterov momentum instead of the paper's heavy ball. */
  nesterov: boolean;
  /** Cross-entropy against (1 - s) one-hot + s / 10 (0: the paper's plain cross-entropy). */
  labelSmoothing: number;
  seed: number;
  data: string;
  /** Use only the first N training images (0: all). */
  subset: number;
  /** Hold out the last N training images for validation (the paper: 5000; 0: none). */
  valSplit: number;
  out: string;
  resume: boolean;
  /** Log training loss/error every N steps. */
  logEvery: number;
  /** Save a checkpoint every N steps (and at the end). */
  checkpointEvery: number;
  /** Evaluate on the validation and test sets every N epochs (0: only at the end). */
  evalEvery: number;
  workers: number;
  /** Progress bar on stderr (default: when stderr is a terminal); else a line per log. */
  progress?: boolean;
  /** Evaluate on at most N test images (0: all) — for quick runs. */
  testSubset: number;
  /** Stop this invocation at step N as if interrupted (checkpoint saved; `resume` continues). */
  stopAt?: number;
}

export const DEFAULTS: TrainOptions = {
  depth: 20, plain: false, shortcut: 'A', batchSize: 128, iterations: 64_000, lr: 0.1, schedule: 'paper', warmup: 0,
  weightDecay: 1e-4, momentum: 0.9, nesterov: false, labelSmoothing: 0, seed: 0, data: '', subset: 0, valSplit: 0, out: 'runs/resnet20', resume: false,
  logEvery: 50, checkpointEvery: 1000, evalEvery: 1, workers: 2, testSubset: 0,
};

export interface TrainResult {
  steps: number;
  testError: number;
  valError?: number;
  imagesPerSec: number;
  dataWaitShare: number;
  stopped: 'done' | 'interrupted';
}

export class TrainingDiverged extends Error {
  override name = 'TrainingDiverged';
}

const CHECKPOINT = 'last.safetensors';

function makeSchedule(o: TrainOptions, total: number): Schedule {
  let s: Schedule =
    o.schedule === 'paper' ? paperSchedule({ base: o.lr, scale: total / 64_000 })
    : o.schedule === 'cosine' ? cosine({ base: o.lr, totalSteps: total })
    : oneCycle({ maxLr: o.lr, totalSteps: total });
  if (o.warmup === 'error') s = errorWarmup(s);
  else if (o.warmup > 0) s = linearWarmup(o.warmup, s);
  return s;
}

function csvRow(r: Record<string, unknown>): string {
  const cols = ['type', 'step', 'epoch', 'loss', 'train_error', 'lr', 'images_per_sec', 'data_wait', 'val_error', 'test_error', 'wall_time'];
  return cols.map((c) => (r[c] === undefined ? '' : String(r[c]))).join(',');
}

/** Keeps only the log lines up to `step`, so a resumed run's logs continue the interrupted one's. */
function truncateLogs(out: string, step: number): void {
  const jsonl = join(out, 'metrics.jsonl');
  if (!existsSync(jsonl)) return;
  const rows = readFileSync(jsonl, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  const kept = rows.filter((r) => (r.step as number) <= step);
  writeFileSync(jsonl, kept.map((r) => JSON.stringify(r) + '\n').join(''));
  writeFileSync(join(out, 'metrics.csv'), [csvRow(Object.fromEntries(['type', 'step', 'epoch', 'loss', 'train_error', 'lr', 'images_per_sec', 'data_wait', 'val_error', 'test_error', 'wall_time'].map((c) => [c, c]))), ...kept.map(csvRow)].join('\n') + '\n');
}

/** Images [start, end) of a split, mean-subtracted and scaled like the training batches, unaugmented. */
function plainImages(split: Split, mean: Float32Array, scale: number) {
  return (start: number, end: number) => {
    const out = new Float32Array((end - start) * IMAGE_BYTES);
    for (let i = start; i < end; i++)
      for (let p = 0; p < IMAGE_BYTES; p++) out[(i - start) * IMAGE_BYTES + p] = (split.images[i * IMAGE_BYTES + p]! - mean[p]!) * scale;
    return out;
  };
}

/**
 * Trains a CIFAR-10 ResNet (or plain net) as the paper does, writing `options.json`,
 * `metrics.jsonl`, `metrics.csv` and `last.safetensors` under `options.out`. With `resume`,
 * continues from the checkpoint exactly: same data order, augmentation and optimizer state.
 */
export async function train(options: Partial<TrainOptions> & { data: string }, signal?: AbortSignal): Promise<TrainResult> {
  let o: TrainOptions = { ...DEFAULTS, ...options };
  mkdirSync(o.out, { recursive: true });
  const ckptPath = join(o.out, CHECKPOINT);
  if (o.resume) {
    if (!existsSync(ckptPath)) throw new Error(`--resume: no checkpoint at ${ckptPath}`);
    const saved = JSON.parse(readFileSync(join(o.out, 'options.json'), 'utf8')) as TrainOptions;
    // The run's own options win, except how long to train and how to report.
    o = { ...DEFAULTS, ...saved, iterations: o.iterations, epochs: o.epochs, resume: true, progress: o.progress, workers: o.workers, out: o.out, stopAt: o.stopAt };
  } else if (existsSync(ckptPath)) {
    throw new Error(`${ckptPath} exists: pass --resume to continue that run, or choose another --out`);
  }
  const backend = o.backend ? getBackend(o.backend) : undefined;
  const scale = 1 / 64;

  const data = await readCifar10(o.data);
  let trainSplit: Split = o.subset ? subset(data.train, o.subset) : data.train;
  let valSplit: Split | undefined;
  if (o.valSplit) ({ train: trainSplit, val: valSplit } = validationSplit(trainSplit, o.valSplit));
  const testSplit = o.testSubset ? subset(data.test, o.testSubset) : data.test;
  const mean = pixelMean(trainSplit);
  const loader = new BatchLoader(trainSplit, { batchSize: o.batchSize, seed: o.seed, augment: true, mean, scale, workers: o.workers });
  const perEpoch = loader.batchesPerEpoch;
  const total = o.epochs ? o.epochs * perEpoch : o.iterations;
  const schedule = makeSchedule(o, total);
  const context = { warmupDone: false };

  const net = buildModel(o);
  const opt = paperOptimizer(o.weightDecay, o.momentum, o.nesterov);
  const runStep = trainStep(net, opt, { labelSmoothing: o.labelSmoothing });
  const evalStep = makeEvalStep(net);
  const init = net.init(random.key(o.seed), [o.batchSize, 3, 32, 32]);
  let s: TrainState = { params: init.params, state: init.state, optState: opt.init(init.params) };
  let step = 0;
  if (o.resume) {
    const c = loadCheckpoint(ckptPath, s);
    s = { params: c.params as ParamTree, state: c.state as ParamTree, optState: c.optState };
    step = c.step;
    context.warmupDone = Boolean(c.metadata?.warmupDone);
    truncateLogs(o.out, step);
  } else {
    writeFileSync(join(o.out, 'options.json'), JSON.stringify(o, null, 2));
    writeFileSync(join(o.out, 'metrics.jsonl'), '');
    writeFileSync(join(o.out, 'metrics.csv'), csvRow(Object.fromEntries(['type', 'step', 'epoch', 'loss', 'train_error', 'lr', 'images_per_sec', 'data_wait', 'val_error', 'test_error', 'wall_time'].map((c) => [c, c]))) + '\n');
  }
  const log = (row: Record<string, unknown>) => {
    appendFileSync(join(o.out, 'metrics.jsonl'), JSON.stringify(row) + '\n');
    appendFileSync(join(o.out, 'metrics.csv'), csvRow(row) + '\n');
  };
  // What evaluate needs besides the tensors: the model and the input normalisation.
  const inputs = { mean: Array.from(mean, (v) => +v.toFixed(4)), scale };
  const save = () =>
    saveCheckpoint(ckptPath, {
      ...s,
      step,
      metadata: { warmupDone: context.warmupDone, epoch: Math.floor(step / perEpoch), model: { depth: o.depth, plain: o.plain, shortcut: o.shortcut }, inputs },
    });
  const evaluate = async (epoch: number) => {
    const testErr = errorRate(await predict(evalStep, s.params, s.state, plainImages(testSplit, mean, scale), testSplit.size, 500, backend), testSplit.labels);
    const valErr = valSplit ? errorRate(await predict(evalStep, s.params, s.state, plainImages(valSplit, mean, scale), valSplit.size, 500, backend), valSplit.labels) : undefined;
    log({ type: 'eval', step, epoch, val_error: valErr, test_error: testErr, wall_time: +((performance.now() - t0) / 1000).toFixed(2) });
    return { testErr, valErr };
  };

  let interrupted = signal?.aborted ?? false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  signal?.addEventListener('abort', onSigint);
  const showBar = o.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          format: 'step {value}/{total} | epoch {epoch} | loss {loss} | err {err} | lr {lr} | {ips} img/s | wait {wait} | ETA {eta_formatted}',
          stream: process.stderr,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, step, { epoch: Math.floor(step / perEpoch), loss: '-', err: '-', lr: '-', ips: '-', wait: '-' });

  const t0 = performance.now();
  let window = { loss: 0, err: 0, n: 0, images: 0, wait: 0, start: performance.now() };
  let totals = { images: 0, wait: 0, time: 0 };
  let last = { testErr: NaN, valErr: undefined as number | undefined };
  try {
    while (step < total && !interrupted) {
      const epoch = Math.floor(step / perEpoch);
      for await (const batch of loader.epoch(epoch, step % perEpoch)) {
        const lr = schedule(step, context);
        const x = tensor(batch.images, { shape: [batch.size, 3, 32, 32], backend });
        const y = tensor(batch.labels, { backend });
        const lrT = full([], lr, { backend });
        const out = runStep(s, x, y, lrT);
        const loss = out.loss.item();
        const err = out.error.item();
        if (!Number.isFinite(loss)) {
          throw new TrainingDiverged(
            `loss became ${loss} at step ${step} (epoch ${epoch}, lr ${lr}); stopping. ` +
              (existsSync(ckptPath) ? `The last good checkpoint is ${ckptPath}.` : 'No checkpoint was written yet.'),
          );
        }
        disposeReplaced(s, out.next);
        for (const t of [x, y, lrT, out.loss, out.error]) t.dispose();
        s = out.next;
        step++;
        window.loss += loss;
        window.err += err;
        window.n++;
        window.images += batch.size;
        window.wait += batch.waitMs;
        if (!context.warmupDone && window.err / window.n < 0.8 && window.n >= 10) context.warmupDone = true;
        if (step % o.logEvery === 0 || step === total) {
          const secs = (performance.now() - window.start) / 1000;
          const row = {
            type: 'train', step, epoch, loss: +(window.loss / window.n).toFixed(5), train_error: +(window.err / window.n).toFixed(5), lr,
            images_per_sec: +(window.images / secs).toFixed(1), data_wait: +(window.wait / 1000 / secs).toFixed(4),
            wall_time: +((performance.now() - t0) / 1000).toFixed(2),
          };
          log(row);
          totals = { images: totals.images + window.images, wait: totals.wait + window.wait, time: totals.time + secs };
          if (!bar) console.error(`step ${step}/${total} epoch ${epoch} loss ${row.loss} err ${row.train_error} lr ${lr} ${row.images_per_sec} img/s wait ${(row.data_wait * 100).toFixed(1)}%`);
          bar?.update(step, { epoch, loss: row.loss.toFixed(3), err: row.train_error.toFixed(3), lr: lr.toPrecision(2), ips: row.images_per_sec.toFixed(0), wait: `${(row.data_wait * 100).toFixed(1)}%` });
          window = { loss: 0, err: 0, n: 0, images: 0, wait: 0, start: performance.now() };
        } else bar?.update(step);
        if (step % o.checkpointEvery === 0) save();
        if (step % perEpoch === 0 && o.evalEvery > 0 && (step / perEpoch) % o.evalEvery === 0) last = await evaluate(step / perEpoch);
        if (o.stopAt !== undefined && step >= o.stopAt) interrupted = true;
        if (step >= total || interrupted) break;
      }
    }
    save();
    if (!interrupted && step >= total && !(step % perEpoch === 0 && o.evalEvery > 0)) last = await evaluate(Math.floor(step / perEpoch));
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
    signal?.removeEventListener('abort', onSigint);
    await loader.close();
  }
  return {
    steps: step,
    testError: last.testErr,
    valError: last.valErr,
    imagesPerSec: totals.time ? totals.images / totals.time : 0,
    dataWaitShare: totals.time ? totals.wait / 1000 / totals.time : 0,
    stopped: interrupted ? 'interrupted' : 'done',
  };
}

export type { Tensor };
