import '@resgrad/backend-cpu';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableBackends } from '@resgrad/core';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA } from './cli.js';
import { readRun } from './figures.js';
import { train, TrainingDiverged } from './trainer.js';

const cpu = availableBackends().find((b) => b.name === 'cpu');
const why = !existsSync(SHARED_DATA) ? 'no shared CIFAR-10 copy' : !cpu?.available ? `cpu backend unavailable: ${cpu?.reason}` : '';

// Each test reads the archive and compiles a ResNet-8 step (cold kernel cache on a fresh machine):
// minutes on 2 loaded cores, beyond vitest's default 60 s.
const LONG = 240_000;

// A few dozen steps on the reference backend would take many minutes; the native backend is needed.
describe.skipIf(why !== '')(`smoke run of the training example${why ? ` (skipped: ${why})` : ''}`, () => {
  it('ResNet-8 on 512 images: the training loss falls well below ln 10', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'resgrad-smoke-')), 'run');
    const r = await train({
      data: SHARED_DATA, backend: 'cpu', depth: 8, subset: 512, batchSize: 32, iterations: 160, lr: 0.1, schedule: 'cosine',
      logEvery: 16, checkpointEvery: 160, evalEvery: 0, testSubset: 500, workers: 1, progress: false, out,
    });
    expect(r.steps).toBe(160);
    const curve = readRun(out).train;
    const firstLoss = curve[0]!;
    const last = curve[curve.length - 1]!;
    expect(firstLoss.step).toBe(16);
    // ln 10 = 2.303 is the loss of a uniform guess over the ten classes.
    const rows = (await import('node:fs')).readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const finalLoss = rows.filter((x) => x.type === 'train').at(-1).loss as number;
    expect(finalLoss).toBeLessThan(0.75 * Math.log(10)); // measured: 1.64 after 160 steps (2.27 over the first 16)
    expect(last.error).toBeLessThan(firstLoss.error);
    expect(r.testError).toBeLessThan(0.8); // chance is 0.9; measured 0.66
  }, LONG);

  it('a diverging run stops with a clear message and keeps the last good checkpoint', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'resgrad-nan-')), 'run');
    const run = train({
      data: SHARED_DATA, backend: 'cpu', depth: 8, subset: 64, batchSize: 16, iterations: 20, lr: 1e30, schedule: 'cosine',
      logEvery: 1, checkpointEvery: 1, evalEvery: 0, testSubset: 16, workers: 1, progress: false, out,
    });
    await expect(run).rejects.toBeInstanceOf(TrainingDiverged);
    await expect(run).rejects.toThrow(/loss became (NaN|Infinity|-Infinity) at step \d+ .* The last good checkpoint is .*last\.safetensors/);
    expect(existsSync(join(out, 'last.safetensors'))).toBe(true);
  }, LONG);

  it('two runs one after the other at top level both finish (the data workers keep the process alive while closing)', async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const script = fileURLToPath(new URL('./fixtures/train-twice.mts', import.meta.url));
    // Through the tsx command, as the npm scripts run it (where the bug showed: exit 13).
    const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
    const r = spawnSync(tsx, [script], { encoding: 'utf8', timeout: LONG - 20_000 });
    expect(r.stdout.trim().split('\n')).toEqual(['first 4', 'second 4']);
    expect(r.status).toBe(0);
  }, LONG);
});
