// The thread pool: every index of a parallel loop runs exactly once, idle workers go to
// sleep and wake for the next region, and a process that used the pool exits cleanly.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findCompiler, loadRuntime } from '@resgrad/backend-cpu';

const hasCompiler = !('unavailable' in findCompiler());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasCompiler)('thread pool', () => {
  it('visits each index of [0, n) exactly once, for any n', () => {
    const { fns, threads } = loadRuntime();
    const out = new BigInt64Array(3);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), (n) => {
        fns.rg_pool_probe(n, out);
        expect(out[0]).toBe(BigInt(n));
        expect(out[1]).toBe((BigInt(n) * BigInt(n - 1)) / 2n);
        // Static chunking: with n >= threads, every participant gets a chunk.
        if (n >= threads) expect(Number(out[2])).toBe(2 ** Math.min(threads, 31) - 1);
      }),
    );
  });

  it('workers sleep after the spin time and wake for the next region', async () => {
    const { fns, threads } = loadRuntime();
    if (threads < 2) return;
    fns.rg_pool_init(threads, 1_000_000); // spin 1 ms
    try {
      fns.rg_empty_region(threads);
      expect(fns.rg_pool_started()).toBe(threads - 1);
      await sleep(100);
      expect(fns.rg_pool_sleepers()).toBe(threads - 1);
      const out = new BigInt64Array(3);
      fns.rg_pool_probe(1000, out);
      expect(out[0]).toBe(1000n);
      expect(Number(out[2])).toBe(2 ** Math.min(threads, 31) - 1);
    } finally {
      fns.rg_pool_init(threads, 2_000_000);
    }
  });

  it('shuts down and restarts on demand', () => {
    const { fns, threads } = loadRuntime();
    fns.rg_pool_shutdown();
    expect(fns.rg_pool_started()).toBe(0);
    const out = new BigInt64Array(3);
    fns.rg_pool_probe(10, out);
    expect(out[0]).toBe(10n);
    expect(fns.rg_pool_started()).toBe(threads - 1);
  });

  it('a Node process that used the pool exits with status 0 (naturally and via process.exit)', () => {
    const helper = fileURLToPath(new URL('./helpers/pool-child.ts', import.meta.url));
    const cwd = fileURLToPath(new URL('../../..', import.meta.url));
    for (const how of ['return', 'exit']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', helper, how], {
        cwd,
        encoding: 'utf8',
        env: { ...process.env, RESGRAD_NUM_THREADS: '3' },
        timeout: 60_000,
      });
      expect({ how, status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ how, status: 0, signal: null, stderr: '' });
      expect(r.stdout).toContain('started=2 c=128');
    }
  });
});
