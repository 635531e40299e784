import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA } from './cli.js';
import { readRun } from './figures.js';
import { train } from './trainer.js';

const tiny = {
  data: SHARED_DATA,
  depth: 8,
  batchSize: 8,
  subset: 64,
  testSubset: 16,
  logEvery: 1,
  checkpointEvery: 2,
  evalEvery: 0,
  workers: 1,
  progress: false,
};

const trainRows = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((r) => r.type === 'train')
    .map(({ step, epoch, loss, train_error, lr }) => ({ step, epoch, loss, train_error, lr }));

describe.skipIf(!existsSync(SHARED_DATA))('CIFAR-10 training example', () => {
  it('a resumed run reproduces the uninterrupted one exactly', async () => {
    const root = mkdtempSync(join(tmpdir(), 'resgrad-train-'));
    const whole = await train({ ...tiny, iterations: 4, out: join(root, 'whole') });
    expect(whole.steps).toBe(4);
    const first = await train({ ...tiny, iterations: 4, stopAt: 2, out: join(root, 'split') });
    expect([first.steps, first.stopped]).toEqual([2, 'interrupted']);
    await expect(train({ ...tiny, iterations: 4, out: join(root, 'split') })).rejects.toThrow(/exists: pass --resume/);
    const rest = await train({ ...tiny, iterations: 4, out: join(root, 'split'), resume: true });
    expect(rest.steps).toBe(4);
    expect(trainRows(join(root, 'split'))).toEqual(trainRows(join(root, 'whole')));
    expect(rest.testError).toBe(whole.testError);
    const a = readFileSync(join(root, 'whole', 'last.safetensors'));
    const b = readFileSync(join(root, 'split', 'last.safetensors'));
    expect(Buffer.compare(a, b)).toBe(0);
    // No temporary files are left behind by the atomic checkpoint writes.
    expect(readdirSync(join(root, 'split')).sort()).toEqual(['last.safetensors', 'metrics.csv', 'metrics.jsonl', 'options.json']);
    const curves = readRun(join(root, 'split'));
    expect(curves.train.map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect(curves.test.length).toBe(1);
    // Three runs, each reading the archive and tracing the step on the reference backend.
  }, 240_000);

  it('an interrupted run saves a checkpoint and says so', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'resgrad-train-')), 'run');
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 10);
    const r = await train({ ...tiny, iterations: 50, out }, ctl.signal);
    expect(r.stopped).toBe('interrupted');
    expect(r.steps).toBeLessThan(50);
    expect(existsSync(join(out, 'last.safetensors'))).toBe(true);
    const resumed = await train({ ...tiny, iterations: r.steps + 1, out, resume: true });
    expect(resumed.steps).toBe(r.steps + 1);
  }, 240_000);
});
