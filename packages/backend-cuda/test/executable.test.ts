// A CudaExecutable against a fake driver and NVRTC: that a run launches every kernel once with
// its buffers, that from the second run its launch sequence is captured and then replayed as
// one graph launch while the external pointers repeat, that outputs get their addresses from
// two runs ago back (so a loop that frees the previous state keeps replaying), and that
// RESGRAD_CUDA_GRAPHS=0 launches kernel by kernel. (The real driver needs a GPU: gpu-check.ts.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Program, schedule } from '@resgrad/core';
import { CudaBackend, type CudaBuffer, CudaExecutable, CUDA_DIALECT, type CudaRuntime } from '@resgrad/backend-cuda';
import { cudaSchedule, epilogueGraphs } from './epilogue-corpus.js';
import { wrapFakeDriver } from './fake-driver.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

/** A runtime whose driver records launches and graph calls and hands out fake addresses. */
function fakeRuntime() {
  const log: string[] = [];
  let nextPtr = 0x10000n;
  let nextHandle = 1000n;
  const capturing = { on: false };
  const names = new Map<bigint, string>();
  const fns: Record<string, (...a: any[]) => number> = {
    cuModuleLoadData: (o: unknown[]) => ((o[0] = 1n), 0),
    cuModuleGetFunction: (o: unknown[], _m: bigint, name: string) => {
      const h = nextHandle++;
      names.set(h, name);
      o[0] = h;
      return 0;
    },
    cuStreamCreate: (o: unknown[]) => ((o[0] = 5n), 0),
    cuEventCreate: (o: unknown[]) => ((o[0] = 6n), 0),
    cuEventRecord: () => 0,
    cuStreamWaitEvent: () => 0,
    cuLaunchKernel: (fn: bigint) => (log.push(`${capturing.on ? 'capture' : 'launch'} ${names.get(fn)}`), 0),
    cuStreamBeginCapture_v2: () => ((capturing.on = true), log.push('begin'), 0),
    cuStreamEndCapture: (_s: bigint, o: unknown[]) => ((capturing.on = false), (o[0] = nextHandle++), log.push('end'), 0),
    cuGraphInstantiateWithFlags: (o: unknown[]) => ((o[0] = nextHandle++), 0),
    cuGraphExecUpdate_v2: () => 0,
    cuGraphLaunch: (e: bigint) => (log.push(`graph ${e}`), 0),
    cuGraphDestroy: () => 0,
    cuGraphExecDestroy: () => 0,
  };
  const driver = {
    ...wrapFakeDriver(fns),
    tryAlloc(bytes: number) {
      const ptr = nextPtr;
      nextPtr += BigInt(Math.ceil(bytes / 256) * 256);
      return { ptr };
    },
  };
  const nvrtc = { compile: () => ({ kind: 'cubin', arch: 'sm_90', image: new Uint8Array([0x7f]), log: '' }), version: () => [12, 8], supportedArchs: () => [80, 90] };
  const rt = {
    driver, nvrtc, cublas: null, context: 1n,
    device: { ordinal: 0, name: 'fake H200', cc: [9, 0], sms: 132, totalMemory: 2 ** 37, driverVersion: 12080 },
  } as unknown as CudaRuntime;
  return { rt, log };
}

function setup(program: Program) {
  const { rt, log } = fakeRuntime();
  const backend = new CudaBackend(rt, { cacheDir: mkdtempSync(join(tmpdir(), 'resgrad-cuda-fake-')) });
  const consts = program.consts.map(() => ({}) as CudaBuffer); // the block graph has none
  const exe = new CudaExecutable(backend, program, consts, CUDA_DIALECT);
  const input = (id: number): CudaBuffer => {
    const b = program.buffers[id]!;
    return { backend: 'cuda', dtype: b.dtype, size: b.size, block: backend.allocator.allocate(b.size * 4, null), writer: null, reader: null };
  };
  return { backend, exe, log, inputs: program.inputs.map(input) };
}

const block = () => schedule(epilogueGraphs().find(([l]) => l === 'epi/block-value-and-grad')![1], cudaSchedule(false));

describe('CudaExecutable with a fake driver', () => {
  it('launches each kernel once, then captures the sequence and replays it while the pointers repeat', () => {
    const p = block();
    expect(p.consts.every((c) => c === null)).toBe(true);
    const { backend, exe, log, inputs } = setup(p);
    const launches = log.length;
    expect(launches).toBe(0);
    // A training loop: each step's outputs are freed before the step after next allocates.
    let prev: CudaBuffer[] = [];
    const runs: string[][] = [];
    for (let i = 0; i < 6; i++) {
      const at = log.length;
      const outs = exe.run(inputs) as CudaBuffer[];
      for (const o of prev) backend.free(o);
      prev = outs;
      runs.push(log.slice(at));
    }
    const kernels = runs[0]!.length;
    expect(kernels).toBeGreaterThanOrEqual(p.kernels.length);
    expect(runs[0]!.every((l) => l.startsWith('launch '))).toBe(true);
    expect(runs[1]![0]).toBe('begin');
    expect(runs[1]!.filter((l) => l.startsWith('capture '))).toEqual(runs[0]!.map((l) => l.replace('launch', 'capture')));
    expect(runs[1]!.slice(-2)).toEqual(['end', expect.stringMatching(/^graph /)]);
    // Outputs alternate between two sets of blocks: one more capture, then replays only.
    expect(runs[2]![0]).toBe('begin');
    for (const r of runs.slice(3)) expect(r).toEqual([expect.stringMatching(/^graph /)]);
    expect(backend.graphStats).toMatchObject({ direct: 1, captures: 2, replays: 3, failures: 0 });
    expect(runs[3]).toEqual([runs[1]![runs[1]!.length - 1]]);
    exe.dispose();
  });

  it('launches kernel by kernel every run with RESGRAD_CUDA_GRAPHS=0', () => {
    process.env.RESGRAD_CUDA_GRAPHS = '0';
    const { backend, exe, log, inputs } = setup(block());
    for (let i = 0; i < 3; i++) exe.run(inputs).forEach((o) => backend.free(o));
    expect(log.some((l) => l === 'begin' || l.startsWith('graph'))).toBe(false);
    expect(backend.graphStats).toMatchObject({ direct: 3, captures: 0, replays: 0 });
  });
});
