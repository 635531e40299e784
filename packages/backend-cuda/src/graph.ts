// CUDA Graph capture of an executable's launch sequence. A jitted training step is a few
// hundred kernel launches; each cuLaunchKernel through koffi costs microseconds of host time
// and the GPU sees them one at a time. Captured once into a CUDA graph (cuStreamBeginCapture ..
// cuStreamEndCapture, cuGraphInstantiate), the whole sequence is one cuGraphLaunch.
//
// A captured kernel node holds its arguments by value, so a graph is only valid for the device
// pointers it was captured with. The executable's own buffers (its arena and split-K workspace)
// never move; its inputs and outputs come from the caching allocator, which hands the same
// blocks back in the same order when a loop frees and allocates the same sizes in the same
// order (a training loop that disposes the previous state alternates between two sets of
// blocks). So graphs are cached by the tuple of external pointers (a few, least recently used
// first out), a miss captures again (reusing an evicted graph through cuGraphExecUpdate, which
// is much cheaper than instantiating anew), and when misses outnumber replays, capturing stops
// and the executable launches directly (hits still replay).
//
// Not in the captured region: allocations, the waits on events of other streams (a dependency
// across the capture boundary is an error, CUDA_ERROR_STREAM_CAPTURE_ISOLATION) and the event
// recorded after the run; they stay ordinary stream operations around the graph launch.
//
// Status: written against the driver API's documentation and tested here against a fake
// driver only; it has not yet run on a GPU (scripts/gpu-check.ts exercises it when one is lent).
import type { Driver, Handle } from './ffi/driver.js';

/** When and how much an executable captures. */
export interface GraphPolicy {
  /** Capture at all (RESGRAD_CUDA_GRAPHS=0 turns it off). */
  readonly enabled: boolean;
  /** Capture only executables of at least this many launches (RESGRAD_CUDA_GRAPH_MIN_LAUNCHES). */
  readonly minLaunches: number;
  /** Instantiated graphs kept per executable (distinct pointer tuples). */
  readonly maxGraphs: number;
}

/** Default launch count from which capture pays: below it the launch overhead is small. */
export const GRAPH_MIN_LAUNCHES = 16;
const MAX_GRAPHS = 4;

/** The policy from the environment: RESGRAD_CUDA_GRAPHS (0/off/false: never), RESGRAD_CUDA_GRAPH_MIN_LAUNCHES. */
export function graphPolicy(env: NodeJS.ProcessEnv = process.env): GraphPolicy {
  const flag = (env.RESGRAD_CUDA_GRAPHS ?? '').trim().toLowerCase();
  const min = env.RESGRAD_CUDA_GRAPH_MIN_LAUNCHES;
  const minLaunches = min === undefined || min === '' ? GRAPH_MIN_LAUNCHES : Number(min);
  if (!Number.isInteger(minLaunches) || minLaunches < 1)
    throw new Error(`@resgrad/backend-cuda: graphPolicy: RESGRAD_CUDA_GRAPH_MIN_LAUNCHES is '${min}', expected a positive integer`);
  return { enabled: !['0', 'off', 'false', 'no'].includes(flag), minLaunches, maxGraphs: MAX_GRAPHS };
}

/** Counters of graph use (one executable's, or summed over a backend's). */
export interface GraphStats {
  /** Runs that launched kernel by kernel. */
  direct: number;
  /** Captures (each followed by a graph launch). */
  captures: number;
  /** Captures that re-targeted an evicted graph through cuGraphExecUpdate instead of instantiating. */
  updates: number;
  /** Graph launches of a cached graph (pointer tuple seen before). */
  replays: number;
  /** Executables that stopped capturing after a failure (see `lastFailure`). */
  failures: number;
  /** The message of the last capture failure, if any. */
  lastFailure?: string;
}

/** Fresh zero counters. */
export const emptyGraphStats = (): GraphStats => ({ direct: 0, captures: 0, updates: 0, replays: 0, failures: 0 });

/** What the runner needs of the driver (a fake in tests). */
export type GraphDriver = Pick<Driver, 'fns' | 'check' | 'call' | 'out'>;

/** CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: unsafe calls are refused on this thread only. */
const CAPTURE_THREAD_LOCAL = 1;

interface Cached {
  key: BigUint64Array;
  exec: Handle;
}

const sameKey = (a: BigUint64Array, b: BigUint64Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** How one run went. */
export type GraphRun = 'direct' | 'capture' | 'replay';

/**
 * Runs one executable's launch sequence on its stream: directly the first time (modules load,
 * cuBLAS sets itself up) and whenever capture is off, does not pay or failed; otherwise from a
 * graph cached by the tuple of external device pointers, capturing one on a miss.
 */
export class GraphRunner {
  private readonly cache: Cached[] = [];
  private runs = 0;
  private misses = 0;
  private hits = 0;
  private broken: string | null = null;

  /**
   * @param launches number of launches (kernels and cuBLAS calls) of one run
   * @param stats counters to add to (shared with the backend's totals)
   */
  constructor(
    private readonly drv: GraphDriver,
    private readonly stream: Handle,
    launches: number,
    private readonly policy: GraphPolicy,
    readonly stats: GraphStats = emptyGraphStats(),
  ) {
    this.active = policy.enabled && launches >= policy.minLaunches;
  }

  /** Whether this executable captures at all (policy on, launch count large enough, no failure). */
  active: boolean;

  /** Instantiated graphs held now. */
  get graphs(): number {
    return this.cache.length;
  }

  /**
   * Enqueues one run on the stream. `key`: the device pointers the launches use that may change
   * between runs (inputs, outputs); `launchAll`: enqueues every launch of the run on the stream
   * (with those pointers), called directly or inside a capture.
   */
  run(key: BigUint64Array, launchAll: () => void): GraphRun {
    const first = this.runs++ === 0;
    if (!this.active || first) return this.direct(launchAll);
    const i = this.cache.findIndex((c) => sameKey(c.key, key));
    if (i >= 0) {
      const hit = this.cache.splice(i, 1)[0]!;
      this.cache.push(hit); // most recently used last
      this.drv.call('cuGraphLaunch', hit.exec, this.stream);
      this.hits++;
      this.stats.replays++;
      return 'replay';
    }
    this.misses++;
    // A capture costs a direct run plus an instantiation (or update) and pays only if replayed:
    // after the first few, capture only while replays keep up with misses.
    if (this.misses > 2 * this.policy.maxGraphs && this.hits < this.misses) return this.direct(launchAll);
    return this.capture(key, launchAll);
  }

  private direct(launchAll: () => void): GraphRun {
    launchAll();
    this.stats.direct++;
    return 'direct';
  }

  private fail(why: string, launchAll: () => void): GraphRun {
    this.broken = why;
    this.active = false;
    this.stats.failures++;
    this.stats.lastFailure = why;
    this.releaseAll();
    // Nothing captured has run: the run's work is still to do.
    return this.direct(launchAll);
  }

  private capture(key: BigUint64Array, launchAll: () => void): GraphRun {
    const f = this.drv.fns;
    const begin = f.cuStreamBeginCapture_v2(this.stream, CAPTURE_THREAD_LOCAL) as number;
    if (begin !== 0) return this.fail(`cuStreamBeginCapture_v2 returned ${begin}`, launchAll);
    let during: unknown = null;
    try {
      launchAll();
    } catch (e) {
      during = e;
    }
    // End the capture whatever happened, or the stream stays in capture mode.
    const out: unknown[] = [null];
    const end = f.cuStreamEndCapture(this.stream, out) as number;
    const graph = out[0] ? BigInt(out[0] as bigint) : 0n;
    if (during || end !== 0 || graph === 0n) {
      if (graph !== 0n) f.cuGraphDestroy(graph);
      const why = during ? `a launch failed during capture: ${(during as Error).message}` : `cuStreamEndCapture returned ${end}`;
      return this.fail(why, launchAll);
    }
    let exec: Handle;
    try {
      exec = this.instantiate(graph);
    } catch (e) {
      f.cuGraphDestroy(graph);
      return this.fail(`instantiating the captured graph failed: ${(e as Error).message}`, launchAll);
    }
    f.cuGraphDestroy(graph); // the executable graph does not need it
    this.cache.push({ key: key.slice(), exec });
    this.stats.captures++;
    this.drv.call('cuGraphLaunch', exec, this.stream);
    return 'capture';
  }

  /** An executable graph for `graph`: the least recently used one updated in place when full. */
  private instantiate(graph: Handle): Handle {
    if (this.cache.length >= this.policy.maxGraphs) {
      const victim = this.cache.shift()!;
      // CUgraphExecUpdateResultInfo: { int result; CUgraphNode errorNode, errorFromNode } (24 bytes).
      const info = new Uint8Array(24);
      const code = this.drv.fns.cuGraphExecUpdate_v2(victim.exec, graph, info) as number;
      if (code === 0) {
        this.stats.updates++;
        return victim.exec;
      }
      // Topology or parameters changed in a way update refuses: instantiate afresh.
      this.drv.fns.cuGraphExecDestroy(victim.exec);
    }
    return BigInt(this.drv.out<bigint>('cuGraphInstantiateWithFlags', graph, 0));
  }

  private releaseAll(): void {
    // An executable graph still running is freed when it completes (cuGraphExecDestroy).
    for (const c of this.cache) this.drv.fns.cuGraphExecDestroy(c.exec);
    this.cache.length = 0;
  }

  /** Why capturing stopped, if it failed. */
  get failure(): string | null {
    return this.broken;
  }

  /** Destroys every cached executable graph. */
  dispose(): void {
    this.releaseAll();
    this.active = false;
  }
}
