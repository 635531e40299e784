// CUDA Graph capture policy against a fake driver (the real one needs a GPU; see
// scripts/gpu-check.ts): the first run is direct, later runs capture once per tuple of external
// pointers and replay it, a full cache re-targets its oldest graph through cuGraphExecUpdate,
// misses that outnumber replays stop capturing, a failed capture runs the work directly and
// turns capture off, and the environment switch and launch-count threshold are honoured.
import { describe, expect, it } from 'vitest';
import { wrapFakeDriver } from './fake-driver.js';
import { emptyGraphStats, GraphRunner, graphPolicy, GRAPH_MIN_LAUNCHES, type GraphDriver, type GraphPolicy } from '@resgrad/backend-cuda';

const STREAM = 7n;

/** A driver that logs graph calls; `capturing` is true between begin and end of capture. */
function fakeDriver(opts: { failLaunchInCapture?: boolean; updateCode?: number; endCode?: number } = {}) {
  const log: string[] = [];
  let next = 100n;
  const state = { capturing: false, launched: 0, executed: 0 };
  const fns: Record<string, (...a: any[]) => number> = {
    cuStreamBeginCapture_v2: (s: bigint, mode: number) => {
      log.push(`begin ${s} mode ${mode}`);
      state.capturing = true;
      return 0;
    },
    cuStreamEndCapture: (_s: bigint, out: unknown[]) => {
      state.capturing = false;
      log.push('end');
      if (opts.endCode) return opts.endCode;
      out[0] = next++;
      return 0;
    },
    cuGraphInstantiateWithFlags: (out: unknown[], g: bigint) => {
      out[0] = next++;
      log.push(`instantiate ${g} -> ${out[0]}`);
      return 0;
    },
    cuGraphExecUpdate_v2: (e: bigint, g: bigint, info: Uint8Array) => {
      log.push(`update ${e} with ${g}`);
      info[0] = opts.updateCode ? 2 : 0;
      return opts.updateCode ?? 0;
    },
    cuGraphLaunch: (e: bigint, s: bigint) => {
      log.push(`launch ${e} on ${s}`);
      return 0;
    },
    cuGraphDestroy: (g: bigint) => (log.push(`destroy graph ${g}`), 0),
    cuGraphExecDestroy: (e: bigint) => (log.push(`destroy exec ${e}`), 0),
  };
  const drv = wrapFakeDriver(fns);
  /** The run's work: counts launches, executed only outside capture. */
  const work = () => {
    if (state.capturing && opts.failLaunchInCapture) throw new Error('cuLaunchKernel failed with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED (901)');
    state.launched++;
    if (!state.capturing) state.executed++;
  };
  return { drv: drv as unknown as GraphDriver, log, state, work };
}

const POLICY: GraphPolicy = { enabled: true, minLaunches: 16, maxGraphs: 2 };
const key = (...ps: number[]) => BigUint64Array.from(ps.map(BigInt));

describe('CUDA graph capture (fake driver)', () => {
  it('runs the first time directly, then captures once and replays while the pointers repeat', () => {
    const { drv, log, state, work } = fakeDriver();
    const stats = emptyGraphStats();
    const r = new GraphRunner(drv, STREAM, 300, POLICY, stats);
    expect(r.run(key(1, 2), work)).toBe('direct');
    expect(r.run(key(1, 2), work)).toBe('capture');
    expect(r.run(key(1, 2), work)).toBe('replay');
    expect(r.run(key(1, 2), work)).toBe('replay');
    expect(state.executed).toBe(1); // only the direct run executed launches one by one
    expect(log.filter((l) => l.startsWith('begin'))).toEqual(['begin 7 mode 1']); // thread-local capture on the stream
    expect(log.filter((l) => l.startsWith('launch'))).toHaveLength(3);
    expect(log).toContain('destroy graph 100'); // the graph goes once instantiated
    expect(stats).toMatchObject({ direct: 1, captures: 1, replays: 2, updates: 0, failures: 0 });
    expect(r.graphs).toBe(1);
    r.dispose();
    expect(log[log.length - 1]).toBe('destroy exec 101');
  });

  it('keeps a graph per pointer tuple (a ping-pong training loop) and updates the oldest when full', () => {
    const { drv, log, work } = fakeDriver();
    const stats = emptyGraphStats();
    const r = new GraphRunner(drv, STREAM, 300, POLICY, stats);
    r.run(key(1), work);
    expect([r.run(key(1), work), r.run(key(2), work), r.run(key(1), work), r.run(key(2), work)]).toEqual(['capture', 'capture', 'replay', 'replay']);
    // A third tuple with the cache full (2): the least recently used graph (key 1) is updated in place.
    expect(r.run(key(3), work)).toBe('capture');
    expect(log.some((l) => l.startsWith('update'))).toBe(true);
    expect(stats.updates).toBe(1);
    expect(r.run(key(3), work)).toBe('replay');
    expect(r.run(key(2), work)).toBe('replay');
    expect(r.run(key(1), work)).toBe('capture'); // evicted
  });

  it('instantiates afresh when the update is refused', () => {
    const { drv, log, work } = fakeDriver({ updateCode: 910 });
    const r = new GraphRunner(drv, STREAM, 300, POLICY);
    for (const k of [1, 1, 2, 3]) r.run(key(k), work);
    const i = log.findIndex((l) => l.startsWith('update'));
    expect(log[i + 1]).toMatch(/^destroy exec/);
    expect(log[i + 2]).toMatch(/^instantiate/);
    expect(r.graphs).toBe(2);
  });

  it('stops capturing when misses outnumber replays, and still replays hits', () => {
    const { drv, work } = fakeDriver();
    const stats = emptyGraphStats();
    const r = new GraphRunner(drv, STREAM, 300, POLICY, stats);
    r.run(key(0), work);
    const kinds = Array.from({ length: 12 }, (_, i) => r.run(key(i + 1), work));
    expect(kinds.slice(0, 2 * POLICY.maxGraphs)).toEqual(Array(2 * POLICY.maxGraphs).fill('capture'));
    expect(kinds.slice(2 * POLICY.maxGraphs)).toEqual(Array(12 - 2 * POLICY.maxGraphs).fill('direct'));
    expect(r.run(key(4), work)).toBe('replay'); // the most recent capture is still cached
  });

  it('runs the work directly and turns capture off when a launch fails during capture', () => {
    const { drv, state, work } = fakeDriver({ failLaunchInCapture: true });
    const stats = emptyGraphStats();
    const r = new GraphRunner(drv, STREAM, 300, POLICY, stats);
    r.run(key(1), work);
    expect(r.run(key(1), work)).toBe('direct');
    expect(state.executed).toBe(2);
    expect(r.active).toBe(false);
    expect(r.failure).toMatch(/a launch failed during capture: .*CAPTURE_INVALIDATED/);
    expect(stats.failures).toBe(1);
    expect(r.run(key(1), work)).toBe('direct');
  });

  it('runs directly when ending the capture fails', () => {
    const { drv, state, work } = fakeDriver({ endCode: 901 });
    const r = new GraphRunner(drv, STREAM, 300, POLICY);
    r.run(key(1), work);
    expect(r.run(key(1), work)).toBe('direct');
    expect(state.executed).toBe(2);
    expect(r.failure).toBe('cuStreamEndCapture returned 901');
  });

  it('does not capture small executables, nor when turned off', () => {
    const { drv, work } = fakeDriver();
    const small = new GraphRunner(drv, STREAM, 3, POLICY);
    expect([1, 2, 3].map(() => small.run(key(1), work))).toEqual(['direct', 'direct', 'direct']);
    const off = new GraphRunner(drv, STREAM, 300, { ...POLICY, enabled: false });
    expect([1, 2, 3].map(() => off.run(key(1), work))).toEqual(['direct', 'direct', 'direct']);
  });

  it('reads the policy from the environment', () => {
    expect(graphPolicy({})).toMatchObject({ enabled: true, minLaunches: GRAPH_MIN_LAUNCHES });
    expect(graphPolicy({ RESGRAD_CUDA_GRAPHS: '0' }).enabled).toBe(false);
    expect(graphPolicy({ RESGRAD_CUDA_GRAPHS: 'off' }).enabled).toBe(false);
    expect(graphPolicy({ RESGRAD_CUDA_GRAPHS: '1', RESGRAD_CUDA_GRAPH_MIN_LAUNCHES: '64' })).toMatchObject({ enabled: true, minLaunches: 64 });
    expect(() => graphPolicy({ RESGRAD_CUDA_GRAPH_MIN_LAUNCHES: 'many' })).toThrow(/graphPolicy: RESGRAD_CUDA_GRAPH_MIN_LAUNCHES is 'many', expected a positive integer/);
  });
});
