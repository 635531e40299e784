// The WebGPU Backend. Buffers are GPUBuffers from a pool; a graph compiles to one compute
// pipeline per kernel (cached by WGSL) and runs as one command encoder and one queue
// submission per call; reads are asynchronous (map a staging copy). Errors the device reports
// asynchronously (validation, out-of-memory, device loss) are collected and thrown, naming the
// kernel, by the next `read` (or `flush`), since WebGPU gives no synchronous way to see them.
/// <reference types="@webgpu/types" />
import {
  schedule, type Backend, type DeviceBuffer, type DType, type Executable, type Graph, type Kernel, type Program, type Tensor, type TypedArray,
} from '@resgrad/core';
import type { AcquiredDevice } from './device.js';
import { decideFeatures, decideLibraryEpilogues, featureSupport, type MatmulPrecision } from './features.js';
import { PipelineCache, WebGPUKernelError } from './pipelines.js';
import { BufferPool, roundBytes, USAGE } from './pool.js';
import { layoutBindings, type BindingLayout } from './wgsl/bindings.js';
import { wgslType } from './wgsl/dialect.js';
import type { Grid } from './wgsl/dispatch.js';
import type { ShaderFeatures } from './wgsl/features.js';
import { epiloguePlacement, splitEpilogue, webgpuLibraryEpilogue } from './wgsl/epilogue.js';
import { renderFused, type FusedRenderOptions, type RenderedShader, type RenderLimits } from './wgsl/fused.js';
import { renderLibrary } from './wgsl/library.js';

/** A WebGPU buffer: a pooled GPUBuffer holding `size` elements of `dtype` (bool as u32 0/1). */
export interface WebGPUBuffer extends DeviceBuffer {
  /** The name of the backend instance that owns it ('webgpu' for the registered one). */
  readonly backend: string;
  gpu: GPUBuffer | null;
  readonly dtype: DType;
  readonly size: number;
  /** Host copy of a small uploaded buffer (scalars), so the scheduler can inline constants. */
  readonly host?: TypedArray;
}

/** Bytes per element in storage: 4 for every dtype this backend holds. */
const ELEMENT_BYTES = 4;
/** Uploads up to this many elements keep a host copy (see {@link WebGPUBuffer.host}). */
const HOST_COPY_MAX = 16;

const HOST_ARRAY = { float32: Float32Array, int32: Int32Array, bool: Uint8Array, float64: Float64Array } as const;

/** Every limit a renderer or the binding layout consults. */
export interface DeviceLimits extends RenderLimits {
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxStorageBufferBindingSize: number;
}

/**
 * A kernel ready to dispatch. Usually a kernel of the program; a library kernel whose epilogue
 * runs as a pass of its own (see epiloguePlacement in wgsl/epilogue.ts) gives two: the op
 * alone, then the in-place epilogue pass, each with its own bindings.
 */
interface CompiledKernel {
  readonly kernel: Kernel;
  readonly shader: RenderedShader;
  readonly layout: BindingLayout;
  readonly pipeline: GPUComputePipeline;
  readonly bindLayout: GPUBindGroupLayout;
  /** Elements in the output; 0 skips the dispatch. */
  readonly outputs: number;
}

/** An executable with counters for tests and memory reports. */
export interface WebGPUExecutable extends Executable {
  readonly program: Program;
  /**
   * The WGSL of each dispatch, in order, with its description: one per kernel of `program`,
   * two for a library kernel whose epilogue runs as a pass of its own.
   */
  readonly shaders: readonly RenderedShader[];
  /** Resolves when every pipeline has been validated; rejects with the first kernel error. */
  readonly ready: Promise<void>;
}

function unsupported(what: string, dtype: DType): never {
  wgslType(dtype, what);
  throw new Error('unreachable');
}

/** Options of {@link WebGPUBackend} (tests use them to exercise code paths small adapters hit). */
export interface WebGPUBackendOptions {
  /** Default 'webgpu'. */
  readonly name?: string;
  /** Limits to use instead of the device's; each is clamped to the device's own. */
  readonly limits?: Partial<DeviceLimits>;
  /**
   * Whether reductions combine their partials with subgroup operations where the device has
   * 'subgroups' (default true); false keeps the workgroup-memory tree everywhere.
   */
  readonly subgroups?: boolean;
  /**
   * Precision of float32 matmuls and convolutions (see {@link MatmulPrecision}): 'f32' (exact,
   * the default) or 'f16' (f16 workgroup tiles, f32 accumulation). 'f16' throws on a device
   * without 'shader-f16'. When absent, RESGRAD_WEBGPU_MATMUL_PRECISION decides ('f16' there is
   * ignored with a one-line warning on a device without 'shader-f16').
   */
  readonly matmulPrecision?: MatmulPrecision;
  /**
   * @internal Tests only: with matmulPrecision 'f16', store the tiles as f16 values packed in
   * u32 words (pack2x16float, core WGSL), so the f16 numerics run without 'shader-f16'.
   */
  readonly packedF16Tiles?: boolean;
  /**
   * Whether the scheduler folds the elementwise chain after a matmul or convolution into the
   * library kernel (its epilogue, evaluated at the kernel's stores) instead of a kernel of its
   * own: one launch and one read and write of the result fewer, the same values. Default true;
   * when absent, RESGRAD_WEBGPU_EPILOGUES=0 turns it off (for A/B measurements).
   */
  readonly libraryEpilogues?: boolean;
}

/** The `webgpu` backend on one acquired device. */
export class WebGPUBackend implements Backend {
  readonly name: string;
  readonly device: GPUDevice;
  readonly description: string;
  /** Kept reachable for the device's lifetime (see {@link AcquiredDevice.gpu}). */
  readonly acquired: AcquiredDevice;
  readonly limits: DeviceLimits;
  /** The optional WGSL capabilities its shaders use (subgroup reductions, f16 GEMM tiles). */
  readonly shaderFeatures: ShaderFeatures;
  /** The precision of its float32 matmuls and convolutions. */
  readonly matmulPrecision: MatmulPrecision;
  /** Whether its library kernels run elementwise epilogues (see {@link WebGPUBackendOptions.libraryEpilogues}). */
  readonly libraryEpilogues: boolean;
  /** Whether `destroy` was called (the device then belongs to nobody). */
  private destroyed = false;
  readonly pipelines: PipelineCache;
  /** Storage buffers (tensors, arenas, packs). */
  readonly pool: BufferPool;
  /** MAP_READ staging buffers for reads. */
  readonly staging: BufferPool;
  /** Submissions made (one per executable run, plus one per read). */
  submissions = 0;
  /**
   * When set, runs submit each kernel separately and report its approximate duration (the
   * time between consecutive completions): for finding slow kernels, not for production.
   */
  profile: ((what: string, ms: number) => void) | null = null;
  private readonly pending = new Set<Promise<void>>();
  private readonly errors: Error[] = [];
  private lost: string | null = null;

  constructor(acquired: AcquiredDevice, options: WebGPUBackendOptions = {}) {
    this.name = options.name ?? 'webgpu';
    this.acquired = acquired;
    this.device = acquired.device;
    this.description = `${acquired.description} via ${acquired.source}`;
    const l = this.device.limits;
    this.limits = {
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    };
    const o = options.limits ?? {};
    for (const k of Object.keys(o) as (keyof DeviceLimits)[])
      (this.limits as Record<keyof DeviceLimits, number>)[k] = Math.min(o[k]!, this.limits[k]);
    const decision = decideFeatures(
      { subgroups: options.subgroups, matmulPrecision: options.matmulPrecision, packedF16Tiles: options.packedF16Tiles },
      featureSupport(acquired.gpu, this.device, acquired.description),
    );
    this.shaderFeatures = decision.features;
    this.matmulPrecision = decision.matmulPrecision;
    this.libraryEpilogues = decideLibraryEpilogues(options.libraryEpilogues);
    if (decision.notice) console.warn(decision.notice);
    this.pipelines = new PipelineCache(this.device);
    this.pool = new BufferPool(this.device, USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST, 'resgrad storage');
    this.staging = new BufferPool(this.device, USAGE.MAP_READ | USAGE.COPY_DST, 'resgrad readback', 64 * 2 ** 20);
    void this.device.lost.then((info) => {
      this.lost = `${info.reason}: ${info.message}`;
    });
    (this.device as unknown as EventTarget).addEventListener?.('uncapturederror', (ev) => {
      this.errors.push(new WebGPUKernelError(`uncaptured device error: ${(ev as GPUUncapturedErrorEvent).error.message}`, []));
    });
  }

  private checkLost(what: string): void {
    if (this.lost !== null) throw new Error(`@resgrad/backend-webgpu: ${what}: the WebGPU device was lost (${this.lost})`);
  }

  private buffer(buf: DeviceBuffer, what: string): WebGPUBuffer {
    const b = buf as WebGPUBuffer;
    if (b.backend !== this.name) throw new Error(`@resgrad/backend-webgpu: ${what}: got a buffer of backend '${buf.backend}'`);
    if (!b.gpu) throw new Error(`@resgrad/backend-webgpu: ${what}: the buffer was freed`);
    return b;
  }

  /** Follows an asynchronous device check; its failure is thrown by the next `flush`. */
  private track(p: Promise<void>): void {
    const t = p.then(
      () => {},
      (e: Error) => {
        this.errors.push(e);
      },
    );
    this.pending.add(t);
    void t.finally(() => this.pending.delete(t));
  }

  /** Waits for every pending device check and throws the first error found (then forgets it). */
  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    const e = this.errors.shift();
    if (e) {
      this.errors.length = 0;
      throw e;
    }
    this.checkLost('flush');
  }

  upload(data: TypedArray, dtype: DType): WebGPUBuffer {
    if (dtype === 'float64') unsupported('upload', dtype);
    this.checkLost('upload');
    const words = dtype === 'bool' ? Uint32Array.from(data as Uint8Array) : data instanceof HOST_ARRAY[dtype] ? data : new HOST_ARRAY[dtype](data as ArrayLike<number>);
    const gpu = this.pool.acquire(data.length * ELEMENT_BYTES);
    if (data.length) this.device.queue.writeBuffer(gpu, 0, words.buffer, words.byteOffset, data.length * ELEMENT_BYTES);
    const host = data.length <= HOST_COPY_MAX ? (data.slice() as TypedArray) : undefined;
    return { backend: this.name, gpu, dtype, size: data.length, ...(host ? { host } : {}) };
  }

  async read(buf: DeviceBuffer, dtype: DType, size: number): Promise<TypedArray> {
    const b = this.buffer(buf, 'read');
    await this.flush();
    if (size === 0) return new HOST_ARRAY[dtype](0);
    const bytes = size * ELEMENT_BYTES;
    const staging = this.staging.acquire(bytes);
    const enc = this.device.createCommandEncoder({ label: 'resgrad read' });
    enc.copyBufferToBuffer(b.gpu!, 0, staging, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    this.submissions++;
    try {
      await staging.mapAsync(1 /* GPUMapMode.READ */, 0, bytes);
    } catch (e) {
      this.checkLost('read');
      throw new Error(`@resgrad/backend-webgpu: read: mapping the readback buffer failed: ${(e as Error).message}`);
    }
    const words = staging.getMappedRange(0, bytes);
    let out: TypedArray;
    if (dtype === 'bool') out = Uint8Array.from(new Uint32Array(words));
    else out = new HOST_ARRAY[dtype](words.slice(0));
    staging.unmap();
    this.staging.release(staging);
    return out;
  }

  free(buf: DeviceBuffer): void {
    const b = buf as WebGPUBuffer;
    if (b.backend !== this.name || !b.gpu) return;
    this.pool.release(b.gpu);
    b.gpu = null;
  }

  memoryInUse(): number {
    return this.pool.stats.bytesInUse;
  }

  compile(graph: Graph): Executable {
    for (const v of [...graph.inputs, ...graph.consts, ...graph.outputs])
      if (v.aval.dtype === 'float64') unsupported('compile', 'float64');
    for (const e of graph.eqns) if (e.out.aval.dtype === 'float64') unsupported(`compile (${e.prim})`, 'float64');
    const consts = graph.constValues.map((t: Tensor) => this.buffer(t.concrete('compile').buffer, 'compile'));
    const program = schedule(graph, {
      scalarConst: (i) => (graph.consts[i]!.aval.shape.length === 0 ? consts[i]!.host?.[0] : undefined),
      ...(this.libraryEpilogues ? { libraryEpilogue: webgpuLibraryEpilogue } : {}),
    });
    return this.compileProgram(program, consts);
  }

  /**
   * Renders one kernel (exposed for tests that validate every generated shader). `inPlace`: `k`
   * is a library epilogue's pass of its own (see {@link FusedRenderOptions.inPlace}).
   */
  render(k: Kernel, program: Program, name: string, inPlace = false): { shader: RenderedShader; layout: BindingLayout } {
    const args = k.args.map((id) => ({ dtype: program.buffers[id]!.dtype, size: program.buffers[id]!.size }));
    const layout = layoutBindings(args, this.limits.maxStorageBuffersPerShaderStage);
    const shader =
      k.kind === 'fused'
        ? renderFused(k, layout, this.limits, name, this.shaderFeatures, { inPlace })
        : renderLibrary(k, layout, this.limits, name, this.shaderFeatures);
    return { shader, layout };
  }

  /**
   * The dispatches of kernel `k`: itself, or, for a library kernel whose operands and epilogue
   * buffers would overflow the adapter's bindings (epiloguePlacement), the op alone and then
   * its epilogue as an in-place pass.
   */
  private renderDispatches(k: Kernel, program: Program, name: string): { kernel: Kernel; shader: RenderedShader; layout: BindingLayout }[] {
    const whole = this.render(k, program, name);
    if (k.kind !== 'library' || epiloguePlacement(k, whole.layout, this.limits.maxStorageBufferBindingSize) === 'fused') return [{ kernel: k, ...whole }];
    const { op, pass } = splitEpilogue(k);
    return [
      { kernel: op, ...this.render(op, program, name) },
      { kernel: pass, ...this.render(pass, program, name, true) },
    ];
  }

  /** Compiles a scheduled program; `consts[i]` is the buffer of graph const i. */
  compileProgram(program: Program, consts: readonly WebGPUBuffer[]): WebGPUExecutable {
    this.checkLost('compile');
    const maxBinding = this.limits.maxStorageBufferBindingSize;
    const dispatches = program.kernels.flatMap((k, i) => this.renderDispatches(k, program, `k${i}`));
    const compiled: CompiledKernel[] = dispatches.map(({ kernel: k, shader, layout }) => {
      for (const id of [k.out, ...k.args]) {
        const bytes = program.buffers[id]!.size * ELEMENT_BYTES;
        if (bytes > maxBinding)
          throw new WebGPUKernelError(`kernel ${shader.what}: buffer ${id} has ${bytes} bytes, above the adapter's maxStorageBufferBindingSize ${maxBinding}`, [shader.what]);
      }
      if (layout.packElements * ELEMENT_BYTES > maxBinding)
        throw new WebGPUKernelError(`kernel ${shader.what}: its packed arguments exceed maxStorageBufferBindingSize`, [shader.what]);
      const entry = this.pipelines.get(shader.code, layout.count, shader.what);
      this.track(entry.ready);
      return {
        kernel: k, shader, layout, pipeline: entry.pipeline, bindLayout: this.pipelines.layout(layout.count),
        outputs: program.buffers[k.out]!.size,
      };
    });
    const ready = Promise.all(compiled.map((c) => this.pipelines.get(c.shader.code, c.layout.count, c.shader.what).ready)).then(() => {});
    ready.catch(() => {});
    return new ProgramRunner(this, program, consts, compiled, ready);
  }

  /** @internal Records the device's verdict on a submission, naming the kernels it ran. */
  trackSubmission(scopes: Promise<GPUError | null>[], label: string): void {
    this.submissions++;
    this.track(
      Promise.all(scopes).then((errs) => {
        const e = errs.find((x) => x);
        if (e) throw new WebGPUKernelError(`running ${label} failed: ${e.message}`, [label]);
      }),
    );
  }

  /** @internal */
  assertUsable(what: string): void {
    this.checkLost(what);
  }

  /** Destroys the device and every pooled buffer; the backend must not be used afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pool.trim();
    this.staging.trim();
    this.device.destroy();
  }
}

/** What an executable holds from the pool: returned there when it is disposed or collected. */
interface Held {
  readonly pool: BufferPool;
  buffers: GPUBuffer[];
}

// An executable dropped without dispose() (a jitted function that went out of scope) returns
// its arena and packs to the pool when it is garbage-collected.
const heldFinalizer = new FinalizationRegistry<Held>((held) => {
  for (const b of held.buffers) held.pool.release(b);
  held.buffers = [];
});

/** Runs a compiled program: arena slots and argument packs are acquired once and reused. */
class ProgramRunner implements WebGPUExecutable {
  private arena: GPUBuffer[] | null = null;
  private packs: (GPUBuffer | null)[] | null = null;
  private held: Held | null = null;
  private readonly bufs: (GPUBuffer | null)[];
  readonly shaders: readonly RenderedShader[];
  private readonly label: string;

  constructor(
    private readonly backend: WebGPUBackend,
    readonly program: Program,
    private readonly consts: readonly WebGPUBuffer[],
    private readonly kernels: readonly CompiledKernel[],
    readonly ready: Promise<void>,
  ) {
    this.bufs = new Array(program.buffers.length).fill(null);
    this.shaders = kernels.map((k) => k.shader);
    const names = kernels.map((k) => k.shader.what.split(':')[1]!.trim().split(' ')[0]);
    this.label = `program of ${kernels.length} kernel(s) [${names.join(', ')}]`;
  }

  run(inputs: readonly DeviceBuffer[]): DeviceBuffer[] {
    const { backend, program, bufs } = this;
    const device = backend.device;
    backend.assertUsable('run');
    if (inputs.length !== program.inputs.length)
      throw new Error(`@resgrad/backend-webgpu: expected ${program.inputs.length} input buffer(s), got ${inputs.length}`);
    if (!this.arena) {
      this.arena = program.slots.map((s) => backend.pool.acquire(s.size * ELEMENT_BYTES));
      this.packs = this.kernels.map((k) => (k.layout.packBinding >= 0 ? backend.pool.acquire(k.layout.packElements * ELEMENT_BYTES) : null));
      this.held = { pool: backend.pool, buffers: [...this.arena, ...this.packs.filter((b): b is GPUBuffer => b !== null)] };
      heldFinalizer.register(this, this.held, this);
    }
    const outs: WebGPUBuffer[] = [];
    for (const b of program.buffers) {
      const role = b.role;
      if (role.kind === 'temp') bufs[b.id] = this.arena[role.slot]!;
      else if (role.kind === 'output') {
        const gpu = backend.pool.acquire(b.size * ELEMENT_BYTES);
        bufs[b.id] = gpu;
        outs[role.index] = { backend: backend.name, gpu, dtype: b.dtype, size: b.size };
      } else {
        const src = role.kind === 'input' ? inputs[role.index] : this.consts[role.index];
        const wb = src as WebGPUBuffer | undefined;
        if (!wb || wb.backend !== backend.name || !wb.gpu)
          throw new Error(`@resgrad/backend-webgpu: ${role.kind} ${role.index} is ${wb ? (wb.backend !== backend.name ? `a buffer of backend '${wb.backend}'` : 'a freed buffer') : 'missing'}`);
        if (wb.size !== b.size)
          throw new Error(`@resgrad/backend-webgpu: ${role.kind} ${role.index} has ${wb.size} elements, expected ${b.size} (shape [${b.shape.join(', ')}])`);
        bufs[b.id] = wb.gpu;
      }
    }

    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let enc = device.createCommandEncoder({ label: this.label });
    this.kernels.forEach((ck, i) => {
      if (ck.outputs === 0) return;
      const k = ck.kernel;
      const pack = this.packs![i];
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: bufs[k.out]!, offset: 0, size: bindSize(program, k.out) } }];
      k.args.forEach((id, a) => {
        const slot = ck.layout.args[a]!;
        if (slot.packed) {
          const bytes = program.buffers[id]!.size * ELEMENT_BYTES;
          if (bytes) enc.copyBufferToBuffer(bufs[id]!, 0, pack!, slot.offset * ELEMENT_BYTES, bytes);
        } else entries.push({ binding: slot.binding, resource: { buffer: bufs[id]!, offset: 0, size: bindSize(program, id) } });
      });
      if (pack) entries.push({ binding: ck.layout.packBinding, resource: { buffer: pack, offset: 0, size: pack.size } });
      const group = device.createBindGroup({ layout: ck.bindLayout, entries, label: ck.shader.what });
      // One pass per kernel: its label names the kernel in the device's messages, and packs
      // are copied between passes.
      const pass = enc.beginComputePass({ label: ck.shader.what });
      pass.setPipeline(ck.pipeline);
      pass.setBindGroup(0, group);
      dispatch(pass, ck.shader.grid);
      pass.end();
      if (backend.profile) {
        const report = backend.profile;
        const finished = enc.finish();
        device.queue.submit([finished]);
        const t0 = performance.now();
        void device.queue.onSubmittedWorkDone().then(() => report(ck.shader.what, performance.now() - t0));
        enc = device.createCommandEncoder({ label: this.label });
      }
    });
    device.queue.submit([enc.finish()]);
    const oom = device.popErrorScope();
    const validation = device.popErrorScope();
    backend.trackSubmission([validation, oom], this.label);
    // Hold no references to the caller's buffers between runs.
    for (const b of program.buffers) if (b.role.kind !== 'temp') bufs[b.id] = null;
    return outs;
  }

  dispose(): void {
    if (this.held) {
      heldFinalizer.unregister(this);
      for (const b of this.held.buffers) this.backend.pool.release(b);
      this.held = null;
    }
    this.arena = null;
    this.packs = null;
  }
}

/** Bytes to bind for program buffer `id` (never 0: an empty binding is invalid). */
function bindSize(program: Program, id: number): number {
  return roundBytes(program.buffers[id]!.size * ELEMENT_BYTES);
}

function dispatch(pass: GPUComputePassEncoder, g: Grid): void {
  pass.dispatchWorkgroups(g.x, g.y, g.z ?? 1);
}
