// The page: acquires WebGPU, loads CIFAR-10 (bundled sample or picked files), trains a ResNet
// and plots the loss and error live. URL parameters preset the form (depth, batch, steps, lr)
// `autostart=sample` starts at once and `train=N`, `test=N` cut the sample (the end-to-end test
// uses them).
import { setDefaultBackend } from '@resgrad/core';
import { type Split, subset } from '@resgrad/data';
import { initWebGPU } from '@resgrad/backend-webgpu';
import { drawChart } from './chart.js';
import { loadFiles, loadSample, type PageData } from './data.js';
import { type EvalReport, runSession, SESSION_DEFAULTS, type SessionOptions, type StepReport } from './session.js';

/** What the page exposes for scripts and tests: the run's state and every report so far. */
export interface PageState {
  state: 'starting' | 'ready' | 'loading' | 'training' | 'done' | 'stopped' | 'error';
  message: string;
  adapter?: string;
  steps: StepReport[];
  evals: EvalReport[];
}

const page: PageState = { state: 'starting', message: '', steps: [], evals: [] };
(globalThis as { resgrad?: PageState }).resgrad = page;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');
const trainSample = $<HTMLButtonElement>('train-sample');
const picker = $<HTMLInputElement>('files');
const stop = $<HTMLButtonElement>('stop');
const fields = { depth: $<HTMLSelectElement>('depth'), batchSize: $<HTMLInputElement>('batch'), steps: $<HTMLInputElement>('steps'), lr: $<HTMLInputElement>('lr') };
const lossCanvas = $<HTMLCanvasElement>('loss');
const errorCanvas = $<HTMLCanvasElement>('error');

function setState(state: PageState['state'], message: string): void {
  page.state = state;
  page.message = message;
  document.body.dataset.state = state;
  status.textContent = message;
  status.className = state === 'error' ? 'error' : '';
  const busy = state === 'loading' || state === 'training' || state === 'starting';
  trainSample.disabled = busy || !page.adapter;
  picker.disabled = busy || !page.adapter;
  stop.disabled = state !== 'training';
}

const params = new URLSearchParams(location.search);
fields.depth.value = params.get('depth') ?? String(SESSION_DEFAULTS.depth);
fields.batchSize.value = params.get('batch') ?? String(SESSION_DEFAULTS.batchSize);
fields.steps.value = params.get('steps') ?? String(SESSION_DEFAULTS.steps);
fields.lr.value = params.get('lr') ?? String(SESSION_DEFAULTS.lr);

function readOptions(): SessionOptions {
  const int = (el: HTMLInputElement | HTMLSelectElement, name: string, min: number) => {
    const v = Number(el.value);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got '${el.value}'`);
    return v;
  };
  const lr = Number(fields.lr.value);
  if (!(lr > 0)) throw new Error(`learning rate must be a positive number, got '${fields.lr.value}'`);
  const steps = int(fields.steps, 'steps', 1);
  return { ...SESSION_DEFAULTS, depth: int(fields.depth, 'depth', 8), batchSize: int(fields.batchSize, 'batch size', 1), steps, lr, evalEvery: Math.max(10, Math.ceil(steps / 6)) };
}

// Exponential moving average, so the noisy per-batch figures read as a curve.
function smooth(values: number[], a = 0.9): number[] {
  let m = values[0] ?? 0;
  return values.map((v, i) => (m = i === 0 ? v : a * m + (1 - a) * v));
}

function redraw(): void {
  const steps = page.steps.map((r) => r.step);
  const losses = page.steps.map((r) => r.loss);
  const errors = smooth(page.steps.map((r) => r.error * 100));
  drawChart(lossCanvas, [
    { label: 'batch loss', color: '#b8c7e0', width: 1, points: steps.map((s, i) => [s, losses[i]!]) },
    { label: 'smoothed', color: '#1f4e9c', points: steps.map((s, i) => [s, smooth(losses)[i]!]) },
  ], { title: 'training loss', xLabel: 'step' });
  drawChart(errorCanvas, [
    { label: 'training error (smoothed)', color: '#d08a2c', width: 1, points: steps.map((s, i) => [s, errors[i]!]) },
    { label: 'test error', color: '#b3261e', width: 2.5, points: page.evals.map((e) => [e.step, e.testError * 100]) },
  ], { title: 'error (%)', xLabel: 'step', yRange: [0, 100] });
}

let controller: AbortController | null = null;

async function train(load: () => Promise<PageData>): Promise<void> {
  let options: SessionOptions;
  try {
    options = readOptions();
  } catch (e) {
    setState('error', (e as Error).message);
    return;
  }
  setState('loading', 'reading CIFAR-10 …');
  let data: PageData;
  try {
    data = await load();
  } catch (e) {
    setState('error', `could not read the data: ${(e as Error).message}`);
    return;
  }
  page.steps = [];
  page.evals = [];
  controller = new AbortController();
  const what = `ResNet-${options.depth}, batch ${options.batchSize}, ${data.train.size} training and ${data.test.size} test images from ${data.source}`;
  setState('training', `training ${what} …`);
  let frame = 0;
  try {
    await runSession(data, options, {
      onStep: (r) => {
        page.steps.push(r);
        const last = page.evals.at(-1);
        status.textContent = `step ${r.step}/${options.steps}: loss ${r.loss.toFixed(3)}, ${r.imagesPerSec.toFixed(0)} images/s` +
          (last ? `, test error ${(last.testError * 100).toFixed(1)} % at step ${last.step}` : '') + ` — ${what}`;
        cancelAnimationFrame(frame);
        frame = requestAnimationFrame(redraw);
      },
      onEval: (r) => {
        page.evals.push(r);
      },
    }, controller.signal);
    redraw();
    const last = page.evals.at(-1);
    const summary = `${page.steps.length} steps; last loss ${page.steps.at(-1)?.loss.toFixed(3)}` + (last ? `, test error ${(last.testError * 100).toFixed(1)} % on ${last.images} images` : '');
    if (controller.signal.aborted) setState('stopped', `stopped after ${summary}`);
    else setState('done', `done: ${summary} — ${what}`);
  } catch (e) {
    setState('error', `training failed: ${(e as Error).message}`);
  }
}

picker.addEventListener('change', () => {
  const files = Array.from(picker.files ?? []);
  if (files.length) void train(() => loadFiles(files));
});
stop.addEventListener('click', () => controller?.abort());
addEventListener('resize', redraw);

setState('starting', 'looking for a WebGPU adapter …');
const gpu = await initWebGPU();
if ('unavailable' in gpu) {
  setState('error', `WebGPU is not available here: ${gpu.unavailable}`);
} else {
  setDefaultBackend('webgpu');
  page.adapter = gpu.description;
  $('adapter').textContent = gpu.description;
  setState('ready', 'ready: train on the bundled sample, or pick cifar-10-binary.tar.gz or .bin batch files');
  redraw();
  // `train=N` and `test=N` keep the first N images of the sample: small runs for slow adapters.
  const limit = (key: string) => (params.has(key) ? Math.max(1, Number(params.get(key)) | 0) : Infinity);
  const sample = async () => {
    const d = await loadSample();
    const cut = (s: Split, n: number) => (n < s.size ? subset(s, n) : s);
    return { ...d, train: cut(d.train, limit('train')), test: cut(d.test, limit('test')) };
  };
  trainSample.onclick = () => void train(sample);
  if (params.get('autostart') === 'sample') void train(sample);
}
