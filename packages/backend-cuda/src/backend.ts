// The CUDA Backend: buffers are device allocations from a caching allocator; a graph compiles
// to one CUDA translation unit (NVRTC, cached on disk by hash) plus cuBLAS calls for float
// dots; each executable runs on a stream of its own.
//
// Ordering. Streams are created blocking (flags 0), so uploads and reads, which use the
// legacy default stream, are ordered after all prior work and before all later work without
// any bookkeeping. Between executables (different streams) a buffer carries the event recorded
// after the run that wrote it, and a consumer on another stream waits on it first. Events are
// re-recorded each run: waiting on a newer recording only waits longer, never too little.
//
// Library epilogues: compile() lets the scheduler fold the elementwise chain after a
// convolution (or a dot that our tiled kernel runs) into the library kernel, which applies it
// at its store (library/epilogue.ts); dots that go to cuBLAS keep their chain as a fused
// kernel (see cudaLibraryEpilogue for why).
//
// CUDA Graphs: from the second run on, an executable of many launches captures its launch
// sequence into a graph and replays it while its external pointers repeat (graph.ts);
// RESGRAD_CUDA_GRAPHS=0 (or the `graphs` option) turns it off. Not yet run on a GPU.
//
// Not yet: pinned staging for truly asynchronous reads, prologues in library kernels.
import koffi from 'koffi';
import {
  schedule, type Backend, type DeviceBuffer, type DType, type Executable, type Graph, type Program, type Tensor, type TypedArray,
} from '@resgrad/core';
import { CachingAllocator, type Block } from './allocator.js';
import { cudaCacheDir, moduleKey, readModule, writeModule } from './cache.js';
import { CudaError } from './errors.js';
import type { Cublas } from './ffi/cublas.js';
import { Driver, type DeviceInfo, type DevicePtr, type Handle } from './ffi/driver.js';
import { chooseTarget, KERNEL_OPTIONS, type Nvrtc } from './ffi/nvrtc.js';
import { emptyGraphStats, GraphRunner, graphPolicy, type GraphPolicy, type GraphStats } from './graph.js';
import { cudaLibraryEpilogue, dotDims } from './library/index.js';
import { cudaDialect, type Dialect } from './render/dialect.js';
import { BLOCK } from './render/kernel.js';
import { renderCudaProgram, type KernelPlan } from './render/program.js';

/** A CUDA buffer: a block of device memory holding `size` elements of `dtype`. */
export interface CudaBuffer extends DeviceBuffer {
  readonly backend: 'cuda';
  readonly dtype: DType;
  readonly size: number;
  block: Block | null;
  /** The stream and event after the work that wrote this buffer (null: written synchronously). */
  writer: { stream: Handle; event: Handle } | null;
  /** The stream and event after the last work that read it (for reuse after free). */
  reader: { stream: Handle; event: Handle } | null;
}

const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };
const ARRAY = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array } as const;

function cudaBuffer(buf: DeviceBuffer): CudaBuffer {
  if (buf.backend !== 'cuda') throw new Error(`@resgrad/backend-cuda: got a buffer of backend '${buf.backend}'`);
  return buf as CudaBuffer;
}

const ptrOf = (b: CudaBuffer): DevicePtr => b.block?.ptr ?? 0n;

/** Options of the backend. */
export interface CudaBackendOptions {
  /** float32 math in single precision (faster; within 2 ulp instead of matching the reference). */
  readonly fastMath?: boolean;
  /** Module cache folder (default: cudaCacheDir()). */
  readonly cacheDir?: string;
  /**
   * CUDA Graph capture of executables with many launches (default: on, unless the environment
   * says RESGRAD_CUDA_GRAPHS=0 when the executable is compiled).
   */
  readonly graphs?: boolean;
}

/** The libraries and device a CudaBackend runs on. */
export interface CudaRuntime {
  readonly driver: Driver;
  readonly device: DeviceInfo;
  readonly context: Handle;
  readonly nvrtc: Nvrtc;
  readonly cublas: Cublas | null;
}

/** A stream and an event, pooled: executables come and go, streams need not. */
interface Lane {
  readonly stream: Handle;
  readonly event: Handle;
}

/** The `cuda` backend. */
export class CudaBackend implements Backend {
  readonly name = 'cuda';
  readonly allocator: CachingAllocator;
  /** NVRTC target: `sm_XY` (CUBIN) or `compute_XY` (PTX the driver JIT-compiles). */
  readonly target: string;
  private readonly dialect: Dialect;
  private readonly modules = new Map<string, Handle>();
  private readonly lanes: Lane[] = [];
  /** CUDA Graph use summed over every executable of this backend. */
  readonly graphStats: GraphStats = emptyGraphStats();

  constructor(
    readonly rt: CudaRuntime,
    private readonly opts: CudaBackendOptions = {},
  ) {
    this.allocator = new CachingAllocator(rt.driver);
    this.target = chooseTarget(rt.device.cc, rt.nvrtc.supportedArchs());
    this.dialect = cudaDialect({ fastMath: opts.fastMath ?? !!process.env.RESGRAD_CUDA_FAST_MATH });
  }

  private get drv(): Driver {
    return this.rt.driver;
  }

  upload(data: TypedArray, dtype: DType): CudaBuffer {
    const bytes = data.length * BYTES[dtype];
    const block = bytes ? this.allocator.allocate(bytes, null) : null;
    // A typed array of another element type is converted first (as the reference's set()).
    const host = data instanceof ARRAY[dtype] ? data : ARRAY[dtype].from(data as ArrayLike<number>);
    if (block) this.drv.call('cuMemcpyHtoD_v2', block.ptr, host, bytes);
    return { backend: 'cuda', dtype, size: data.length, block, writer: null, reader: null };
  }

  readSync(buf: DeviceBuffer, dtype: DType, size: number): TypedArray {
    const b = cudaBuffer(buf);
    const out = new ARRAY[dtype](size);
    // The legacy default stream waits for every blocking stream: no event needed.
    if (size > 0) this.drv.call('cuMemcpyDtoH_v2', out, ptrOf(b), size * BYTES[dtype]);
    return out;
  }

  async read(buf: DeviceBuffer, dtype: DType, size: number): Promise<TypedArray> {
    return this.readSync(buf, dtype, size);
  }

  free(buf: DeviceBuffer): void {
    const b = cudaBuffer(buf);
    if (!b.block) return;
    const last = b.reader ?? b.writer;
    this.allocator.release(b.block, last?.stream ?? null, last?.event ?? null);
    b.block = null;
  }

  memoryInUse(): number {
    return this.allocator.inUse;
  }

  /** A module for `source`: loaded already, or from the disk cache, or compiled now. */
  module(source: string): Handle {
    const key = moduleKey([source, this.target, KERNEL_OPTIONS.join(' '), this.rt.nvrtc.version().join('.')]);
    const hit = this.modules.get(key);
    if (hit !== undefined) return hit;
    const dir = this.opts.cacheDir ?? cudaCacheDir();
    const ext = this.target.startsWith('sm_') ? 'cubin' : 'ptx';
    let image = readModule(dir, key, ext);
    if (!image) {
      image = this.rt.nvrtc.compile(source, this.target, { name: `${key}.cu` }).image;
      writeModule(dir, key, ext, image, source);
    }
    const mod = BigInt(this.drv.out<bigint>('cuModuleLoadData', image));
    this.modules.set(key, mod);
    return mod;
  }

  lane(): Lane {
    const l = this.lanes.pop();
    if (l) return l;
    return {
      stream: BigInt(this.drv.out<bigint>('cuStreamCreate', 0)),
      event: BigInt(this.drv.out<bigint>('cuEventCreate', 2 /* CU_EVENT_DISABLE_TIMING */)),
    };
  }

  returnLane(l: Lane): void {
    this.lanes.push(l);
  }

  /** The graph policy for an executable compiled now (the option, else the environment). */
  graphPolicy(): GraphPolicy {
    const p = graphPolicy();
    return this.opts.graphs === undefined ? p : { ...p, enabled: this.opts.graphs };
  }

  compile(graph: Graph): Executable {
    const consts = graph.constValues.map((t: Tensor) => cudaBuffer(t.concrete('compile').buffer));
    const program = schedule(graph, {
      scalarConst: (i) =>
        graph.consts[i]!.aval.shape.length === 0 ? this.readSync(consts[i]!, consts[i]!.dtype, 1)[0] : undefined,
      libraryEpilogue: cudaLibraryEpilogue(this.rt.cublas !== null),
    });
    return new CudaExecutable(this, program, consts, this.dialect);
  }
}

/** One kernel launch, with its argument block in native memory (koffi.alloc: never moves). */
interface Launch {
  readonly fn: Handle;
  readonly grid: readonly [number, number, number];
  /** Buffer ids (or -1 for the workspace) per kernel argument. */
  readonly ids: readonly number[];
  /** Argument values (8 bytes each) followed by the pointer array cuLaunchKernel reads. */
  readonly mem: bigint;
}

type Step = { kind: 'launch'; launch: Launch } | { kind: 'gemm'; dtype: 'float32' | 'float64'; dims: ReturnType<typeof dotDims>; ids: [number, number, number] };

/** A compiled program on a stream of its own. */
export class CudaExecutable implements Executable {
  private readonly steps: Step[] = [];
  private arena: Block[] | null = null;
  private workspace: Block | null = null;
  private readonly lane: { stream: Handle; event: Handle };
  private disposed = false;

  constructor(
    private readonly backend: CudaBackend,
    readonly program: Program,
    private readonly consts: readonly CudaBuffer[],
    dialect: Dialect,
  ) {
    const rendered = renderCudaProgram(program, { dialect });
    const mod = backend.module(rendered.source);
    const drv = backend.rt.driver;
    const fn = (name: string) => BigInt(drv.out<bigint>('cuModuleGetFunction', mod, name));
    const sms = backend.rt.device.sms;
    program.kernels.forEach((k, i) => {
      const plan = rendered.plans[i]! as KernelPlan;
      const ids = [k.out, ...k.args];
      if (plan.kind === 'fused') {
        const f = plan.fused;
        if (f.units === 0) return;
        const blocks = Math.max(1, Math.min(Math.ceil((f.units * f.threadsPerUnit) / BLOCK), sms * 32));
        this.steps.push({ kind: 'launch', launch: makeLaunch(fn(f.name), [blocks, 1, 1], ids) });
        return;
      }
      // (A dot with an epilogue takes our tiled kernel, which applies it; the scheduler forms
      // one only where cuBLAS is absent, see cudaLibraryEpilogue.)
      if (k.kind === 'library' && k.op === 'dot' && !k.epilogue && backend.rt.cublas && (k.dtype === 'float32' || k.dtype === 'float64')) {
        this.steps.push({ kind: 'gemm', dtype: k.dtype, dims: dotDims(k as never), ids: [k.out, k.args[0]!, k.args[1]!] });
        return;
      }
      for (const l of plan.launches) {
        const lids = l.args.map((a) => (a === 'out' ? k.out : a === 'ws' ? -1 : k.args[a]!));
        this.steps.push({ kind: 'launch', launch: makeLaunch(fn(l.fn), l.grid, lids) });
      }
    });
    this.workspaceBytes = Math.max(
      0,
      ...program.kernels.map((k, i) => {
        const p = rendered.plans[i]!;
        return p.kind === 'library' ? p.workspace * BYTES[k.dtype] : 0;
      }),
    );
    this.lane = backend.lane();
    this.external = program.buffers.filter((b) => b.role.kind !== 'temp').map((b) => b.id);
    this.key = new BigUint64Array(this.external.length);
    this.graphs = new GraphRunner(drv, this.lane.stream, this.steps.length, backend.graphPolicy(), backend.graphStats);
  }

  private readonly workspaceBytes: number;
  /** Buffers whose pointers may change between runs (inputs, consts, outputs): the graph key. */
  private readonly external: readonly number[];
  private readonly key: BigUint64Array;
  /** Per output: its device addresses two runs ago and one run ago (allocation preferences). */
  private readonly outputHistory: [DevicePtr | undefined, DevicePtr | undefined][] = [];
  /** Launches directly or through a captured CUDA graph. */
  readonly graphs: GraphRunner;

  run(inputs: readonly DeviceBuffer[]): DeviceBuffer[] {
    if (this.disposed) throw new Error('@resgrad/backend-cuda: run() on a disposed executable');
    const p = this.program;
    if (inputs.length !== p.inputs.length) throw new Error(`@resgrad/backend-cuda: expected ${p.inputs.length} input buffer(s), got ${inputs.length}`);
    const drv = this.backend.rt.driver;
    const alloc = this.backend.allocator;
    const { stream, event } = this.lane;
    if (!this.arena) {
      this.arena = p.slots.map((s) => alloc.allocate(Math.max(1, s.size * BYTES[s.dtype]), stream));
      if (this.workspaceBytes) this.workspace = alloc.allocate(this.workspaceBytes, stream);
    }
    const ptrs: DevicePtr[] = new Array(p.buffers.length).fill(0n);
    const outputs: CudaBuffer[] = [];
    const read = new Set<CudaBuffer>();
    for (const b of p.buffers) {
      const role = b.role;
      if (role.kind === 'temp') ptrs[b.id] = this.arena[role.slot]!.ptr;
      else if (role.kind === 'output') {
        // The blocks this output had two and one runs ago, if free: stable addresses for graphs.
        const seen = this.outputHistory[role.index] ??= [undefined, undefined];
        const block = b.size ? alloc.allocate(b.size * BYTES[b.dtype], stream, seen) : null;
        if (block) {
          seen[0] = seen[1];
          seen[1] = block.ptr;
        }
        const out: CudaBuffer = { backend: 'cuda', dtype: b.dtype, size: b.size, block, writer: null, reader: null };
        outputs[role.index] = out;
        ptrs[b.id] = ptrOf(out);
      } else {
        const src = role.kind === 'input' ? cudaBuffer(inputs[role.index]!) : this.consts[role.index]!;
        if (src.size !== b.size) throw new Error(`@resgrad/backend-cuda: ${role.kind} ${role.index} has ${src.size} elements, expected ${b.size} (shape [${b.shape.join(', ')}])`);
        if (src.writer && src.writer.stream !== stream) drv.call('cuStreamWaitEvent', stream, src.writer.event, 0);
        read.add(src);
        ptrs[b.id] = ptrOf(src);
      }
    }
    // Everything above (allocations, waits on other streams) stays outside any capture.
    this.external.forEach((id, i) => (this.key[i] = ptrs[id]!));
    this.graphs.run(this.key, () => this.launchAll(ptrs, stream));
    drv.call('cuEventRecord', event, stream);
    for (const o of outputs) o.writer = { stream, event };
    for (const r of read) r.reader = { stream, event };
    return outputs;
  }

  /** Enqueues every kernel launch and cuBLAS call of one run on `stream`. */
  private launchAll(ptrs: readonly DevicePtr[], stream: Handle): void {
    const drv = this.backend.rt.driver;
    for (const s of this.steps) {
      if (s.kind === 'gemm') {
        const [c, a, b] = s.ids.map((id) => ptrs[id]!) as [DevicePtr, DevicePtr, DevicePtr];
        this.backend.rt.cublas!.gemm({ dtype: s.dtype, batch: s.dims.batch, m: s.dims.M, n: s.dims.N, k: s.dims.K, a, b, c }, stream);
        continue;
      }
      const l = s.launch;
      const n = l.ids.length;
      l.ids.forEach((id, j) => koffi.encode(l.mem, j * 8, 'uint64_t', id < 0 ? this.workspace!.ptr : ptrs[id]!));
      const code = drv.fns.cuLaunchKernel(l.fn, l.grid[0], l.grid[1], l.grid[2], BLOCK, 1, 1, 0, stream, l.mem + BigInt(n * 8), null) as number;
      if (code !== 0) drv.check('cuLaunchKernel', code);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.graphs.dispose();
    const alloc = this.backend.allocator;
    const { stream, event } = this.lane;
    for (const b of this.arena ?? []) alloc.release(b, stream, event);
    if (this.workspace) alloc.release(this.workspace, stream, event);
    this.arena = null;
    for (const s of this.steps) if (s.kind === 'launch') koffi.free(s.launch.mem);
    this.backend.returnLane(this.lane);
  }
}

/** Native memory for a launch's arguments: n values, then n pointers to them. */
function makeLaunch(fn: Handle, grid: readonly [number, number, number], ids: readonly number[]): Launch {
  const n = ids.length;
  const mem = koffi.alloc('uint8_t', 16 * Math.max(1, n)) as bigint;
  for (let j = 0; j < n; j++) koffi.encode(mem, (n + j) * 8, 'uint64_t', mem + BigInt(j * 8));
  return { fn, grid, ids, mem };
}

export { CudaError };
