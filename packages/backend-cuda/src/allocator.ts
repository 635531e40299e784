// A caching device allocator: freed blocks go to per-size free lists and are handed out again,
// so a training loop that allocates the same sizes every step reaches a steady state with no
// cuMemAlloc/cuMemFree (both synchronise the device). Sizes are rounded up (512 B granularity
// below 1 MiB, then to 1/8 of the next power of two) so near sizes share blocks.
//
// Streams: a block freed while work on stream S may still read it is tagged with an event
// recorded on S; whoever reuses it on another stream first makes that stream wait on the
// event (PyTorch's record_stream discipline, but automatic).
//
// Stable addresses: a caller may name blocks it would like back (`prefer`). An executable asks
// for the block each output had one and two runs ago, so a loop that frees the previous state
// before the next step gets the same addresses every other step whatever order it frees them
// in; that is what lets a captured CUDA graph (graph.ts) be replayed.
import { CudaOutOfMemoryError, formatBytes } from './errors.js';
import type { DevicePtr, Driver, Handle } from './ffi/driver.js';

/** A device allocation owned by the allocator. */
export interface Block {
  readonly ptr: DevicePtr;
  readonly bytes: number;
  /** The stream that last used the block, and an event recorded there after that use. */
  stream: Handle | null;
  event: Handle | null;
}

/** The size class of a request. */
export function roundSize(bytes: number): number {
  const b = Math.max(512, bytes);
  if (b <= 1 << 20) return Math.ceil(b / 512) * 512;
  const step = 2 ** Math.floor(Math.log2(b)) / 8;
  return Math.ceil(b / step) * step;
}

export class CachingAllocator {
  private readonly free = new Map<number, Block[]>();
  /** The free blocks by address (for `prefer`). */
  private readonly freeAt = new Map<DevicePtr, Block>();
  private cached = 0;
  private live = 0;

  constructor(private readonly drv: Driver) {}

  /** Bytes handed out and not yet released. */
  get inUse(): number {
    return this.live;
  }

  /** Bytes held in free lists. */
  get cachedBytes(): number {
    return this.cached;
  }

  /**
   * A block of at least `bytes`, usable on `stream` (after any wait this enqueues there): the
   * first free block of the size class among `prefer` (addresses), else the last one freed.
   */
  allocate(bytes: number, stream: Handle | null, prefer: readonly (DevicePtr | undefined)[] = []): Block {
    const size = roundSize(bytes);
    const list = this.free.get(size);
    let hit: Block | undefined;
    for (const p of prefer) {
      const b = p === undefined ? undefined : this.freeAt.get(p);
      if (b && b.bytes === size) {
        list!.splice(list!.lastIndexOf(b), 1);
        hit = b;
        break;
      }
    }
    hit ??= list?.pop();
    if (hit) {
      this.freeAt.delete(hit.ptr);
      this.cached -= size;
      this.live += size;
      if (hit.event && hit.stream !== stream) this.drv.call('cuStreamWaitEvent', stream, hit.event, 0);
      return hit;
    }
    let r = this.drv.tryAlloc(size);
    if ('code' in r && r.code === 2) {
      // Out of memory: give the cache back to the driver and try once more.
      const held = this.cached;
      this.emptyCache();
      r = this.drv.tryAlloc(size);
      if ('code' in r && r.code === 2) {
        let info: { free: number; total: number } | undefined;
        try {
          info = this.drv.memInfo();
        } catch {
          info = undefined;
        }
        throw new CudaOutOfMemoryError('cuMemAlloc_v2', size, info?.free, info?.total, held);
      }
    }
    if ('code' in r) this.drv.check('cuMemAlloc_v2', r.code, `allocating ${formatBytes(size)}`);
    this.live += size;
    return { ptr: (r as { ptr: DevicePtr }).ptr, bytes: size, stream, event: null };
  }

  /** Returns a block; `stream`/`event` say where it was last used (event recorded after that use). */
  release(block: Block, stream: Handle | null, event: Handle | null): void {
    block.stream = stream;
    block.event = event;
    this.live -= block.bytes;
    this.cached += block.bytes;
    let list = this.free.get(block.bytes);
    if (!list) this.free.set(block.bytes, (list = []));
    list.push(block);
    this.freeAt.set(block.ptr, block);
  }

  /** Frees every cached block (synchronises the device first: blocks may still be in use). */
  emptyCache(): void {
    if (this.cached === 0) return;
    this.drv.call('cuCtxSynchronize');
    for (const list of this.free.values()) for (const b of list) this.drv.call('cuMemFree_v2', b.ptr);
    this.free.clear();
    this.freeAt.clear();
    this.cached = 0;
  }
}
