// A pool of GPUBuffers by byte size. A jitted training step allocates the same sizes every
// call (its outputs replace the previous step's, which are freed), so after the first steps
// every request is served from the pool and no GPUBuffer is created in the steady state.
// Reuse is safe without waiting for the GPU: every read and write of a buffer goes through the
// one queue, in submission order.
/// <reference types="@webgpu/types" />

/** Usage flags (numeric, so no WebGPU globals are needed): GPUBufferUsage.*. */
export const USAGE = { MAP_READ: 1, MAP_WRITE: 2, COPY_SRC: 4, COPY_DST: 8, UNIFORM: 64, STORAGE: 128 } as const;

/** Counters of a pool. */
export interface PoolStats {
  /** GPUBuffers created so far. */
  created: number;
  /** Requests served from the pool. */
  reused: number;
  /** Bytes of buffers handed out and not yet returned. */
  bytesInUse: number;
  /** Bytes of buffers waiting in the pool. */
  bytesPooled: number;
}

/** Rounds a request up: storage bindings need a multiple of 4 bytes, and never size 0. */
export const roundBytes = (bytes: number): number => Math.max(16, Math.ceil(bytes / 16) * 16);

/** A pool of buffers of one usage. */
export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  readonly stats: PoolStats = { created: 0, reused: 0, bytesInUse: 0, bytesPooled: 0 };

  /**
   * @param maxPooledBytes beyond this many idle bytes, returned buffers are destroyed rather
   *   than kept (bounds the memory a workload that changes shapes leaves behind).
   */
  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
    private readonly label: string,
    private readonly maxPooledBytes = 512 * 2 ** 20,
  ) {}

  /** A buffer of at least `bytes` bytes (exactly `roundBytes(bytes)`). */
  acquire(bytes: number): GPUBuffer {
    const size = roundBytes(bytes);
    this.stats.bytesInUse += size;
    const list = this.free.get(size);
    const hit = list?.pop();
    if (hit) {
      this.stats.reused++;
      this.stats.bytesPooled -= size;
      return hit;
    }
    this.stats.created++;
    return this.device.createBuffer({ size, usage: this.usage, label: `${this.label} ${size}B` });
  }

  /** Returns a buffer acquired from this pool; it must not be used by the caller afterwards. */
  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.stats.bytesInUse -= size;
    if (this.stats.bytesPooled + size > this.maxPooledBytes) {
      buf.destroy();
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.stats.bytesPooled += size;
  }

  /** Destroys every idle buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.stats.bytesPooled = 0;
  }
}
