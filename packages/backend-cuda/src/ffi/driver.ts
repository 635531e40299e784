// koffi bindings of the CUDA driver API (libcuda.so.1). Handles (contexts, streams, events,
// modules, functions) are opaque pointers, which koffi 3 represents as BigInt; device
// pointers (CUdeviceptr) are 64-bit integers, kept as BigInt too so no address loses bits.
// Every call goes through `check`, which turns a non-zero CUresult into a CudaError naming
// the call and the driver's own name and message for the code.
import koffi from 'koffi';
import { CudaError, describeCuResult } from '../errors.js';
import { findDriver, listSearched } from '../discover.js';

/** An opaque driver handle (CUcontext, CUstream, CUevent, CUmodule, CUfunction). */
export type Handle = bigint;
/** A device address (CUdeviceptr). */
export type DevicePtr = bigint;

type Fn = (...args: any[]) => any;

/** The raw functions, by their C names (the `_v2` entry points where cuda.h maps to them). */
const PROTOTYPES = {
  cuInit: 'int cuInit(unsigned int flags)',
  cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int *version)',
  cuGetErrorName: 'int cuGetErrorName(int error, _Out_ const char **str)',
  cuGetErrorString: 'int cuGetErrorString(int error, _Out_ const char **str)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int *count)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int *device, int ordinal)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t *name, int len, int dev)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int *value, int attrib, int dev)',
  cuDeviceTotalMem_v2: 'int cuDeviceTotalMem_v2(_Out_ size_t *bytes, int dev)',
  cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ void **ctx, int dev)',
  cuDevicePrimaryCtxRelease_v2: 'int cuDevicePrimaryCtxRelease_v2(int dev)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(void *ctx)',
  cuCtxSynchronize: 'int cuCtxSynchronize()',
  cuMemAlloc_v2: 'int cuMemAlloc_v2(_Out_ uint64_t *dptr, size_t bytes)',
  cuMemFree_v2: 'int cuMemFree_v2(uint64_t dptr)',
  cuMemGetInfo_v2: 'int cuMemGetInfo_v2(_Out_ size_t *free, _Out_ size_t *total)',
  cuMemAllocHost_v2: 'int cuMemAllocHost_v2(_Out_ void **pp, size_t bytes)',
  cuMemFreeHost: 'int cuMemFreeHost(void *p)',
  cuMemcpyHtoD_v2: 'int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes)',
  cuMemcpyDtoH_v2: 'int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes)',
  cuMemcpyHtoDAsync_v2: 'int cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t bytes, void *stream)',
  cuMemcpyDtoHAsync_v2: 'int cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes, void *stream)',
  cuMemcpyDtoDAsync_v2: 'int cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t bytes, void *stream)',
  cuMemsetD8Async: 'int cuMemsetD8Async(uint64_t dst, uint8_t value, size_t n, void *stream)',
  cuStreamCreate: 'int cuStreamCreate(_Out_ void **stream, unsigned int flags)',
  cuStreamDestroy_v2: 'int cuStreamDestroy_v2(void *stream)',
  cuStreamSynchronize: 'int cuStreamSynchronize(void *stream)',
  cuStreamWaitEvent: 'int cuStreamWaitEvent(void *stream, void *event, unsigned int flags)',
  cuEventCreate: 'int cuEventCreate(_Out_ void **event, unsigned int flags)',
  cuEventDestroy_v2: 'int cuEventDestroy_v2(void *event)',
  cuEventRecord: 'int cuEventRecord(void *event, void *stream)',
  cuEventQuery: 'int cuEventQuery(void *event)',
  cuEventSynchronize: 'int cuEventSynchronize(void *event)',
  cuEventElapsedTime: 'int cuEventElapsedTime(_Out_ float *ms, void *start, void *end)',
  cuModuleLoadData: 'int cuModuleLoadData(_Out_ void **module, const void *image)',
  cuModuleUnload: 'int cuModuleUnload(void *module)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ void **fn, void *module, const char *name)',
  cuFuncSetAttribute: 'int cuFuncSetAttribute(void *fn, int attrib, int value)',
  cuLaunchKernel:
    'int cuLaunchKernel(void *fn, unsigned int gx, unsigned int gy, unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz, unsigned int shared, void *stream, void *params, void *extra)',
  // CUDA Graphs: capture of an executable's launch sequence (graph.ts).
  cuStreamBeginCapture_v2: 'int cuStreamBeginCapture_v2(void *stream, int mode)',
  cuStreamEndCapture: 'int cuStreamEndCapture(void *stream, _Out_ void **graph)',
  cuGraphInstantiateWithFlags: 'int cuGraphInstantiateWithFlags(_Out_ void **exec, void *graph, uint64_t flags)',
  // info: CUgraphExecUpdateResultInfo { CUgraphExecUpdateResult result; CUgraphNode errorNode, errorFromNode } as 24 bytes.
  cuGraphExecUpdate_v2: 'int cuGraphExecUpdate_v2(void *exec, void *graph, _Out_ uint8_t *info)',
  cuGraphLaunch: 'int cuGraphLaunch(void *exec, void *stream)',
  cuGraphDestroy: 'int cuGraphDestroy(void *graph)',
  cuGraphExecDestroy: 'int cuGraphExecDestroy(void *exec)',
} as const;

export type DriverFns = { readonly [K in keyof typeof PROTOTYPES]: Fn };

/** CUdevice_attribute values we read. */
export const ATTR = {
  maxThreadsPerBlock: 1,
  multiprocessorCount: 16,
  computeCapabilityMajor: 75,
  computeCapabilityMinor: 76,
  maxSharedMemoryPerBlockOptin: 97,
} as const;

/** CUstream / CUevent flags. */
export const CU_STREAM_NON_BLOCKING = 1;
export const CU_EVENT_DISABLE_TIMING = 2;
/** CUDA_ERROR_NOT_READY: cuEventQuery's "still running". */
export const CUDA_ERROR_NOT_READY = 600;

/** The loaded driver library and its functions. */
export interface DriverLibrary {
  readonly path: string;
  readonly fns: DriverFns;
}

/**
 * Loads libcuda.so.1: the first copy found in the search folders, else whatever the dynamic
 * loader finds by soname. Returns the reason when there is none (the message lists where
 * we looked).
 */
export function loadDriverLibrary(): DriverLibrary | { unavailable: string } {
  const found = findDriver();
  const tries = found.path ? [found.path, 'libcuda.so.1'] : ['libcuda.so.1'];
  let lastError = '';
  for (const path of tries) {
    let lib: ReturnType<typeof koffi.load>;
    try {
      lib = koffi.load(path);
    } catch (e) {
      lastError = (e as Error).message;
      continue;
    }
    const fns: Record<string, Fn> = {};
    try {
      for (const [name, proto] of Object.entries(PROTOTYPES)) fns[name] = lib.func(proto);
    } catch (e) {
      return { unavailable: `the CUDA driver at ${path} is too old: ${(e as Error).message} (CUDA 12 or newer is needed)` };
    }
    return { path, fns: fns as DriverFns };
  }
  const where = listSearched(found.searched);
  return {
    unavailable: `no CUDA driver: libcuda.so.1 not found (searched ${where}, and the dynamic loader's path${lastError ? `: ${lastError.split('\n')[0]}` : ''})`,
  };
}

/** Checked wrappers around the driver: each throws a CudaError naming the failing call. */
export class Driver {
  constructor(readonly lib: DriverLibrary) {}

  get fns(): DriverFns {
    return this.lib.fns;
  }

  /** The driver's name and message for `code`, falling back to our table. */
  describe(code: number): { name: string; message: string } {
    const fallback = describeCuResult(code);
    try {
      const n: (string | null)[] = [null];
      const s: (string | null)[] = [null];
      const okName = this.fns.cuGetErrorName(code, n) === 0;
      const okStr = this.fns.cuGetErrorString(code, s) === 0;
      return { name: okName && n[0] ? n[0] : fallback.name, message: okStr && s[0] ? s[0] : fallback.message };
    } catch {
      return fallback;
    }
  }

  /** Throws a CudaError when `code` is not CUDA_SUCCESS. */
  check(call: string, code: number, detail?: string): void {
    if (code === 0) return;
    const d = this.describe(code);
    throw new CudaError('driver', call, code, d.name, d.message, detail);
  }

  /** Calls driver function `name` with `args`, checking its result. */
  call(name: keyof DriverFns, ...args: unknown[]): void {
    this.check(name, this.fns[name](...args) as number);
  }

  /** Calls a driver function whose first parameter is an output; returns that output. */
  out<T>(name: keyof DriverFns, ...args: unknown[]): T {
    const o: unknown[] = [null];
    this.check(name, this.fns[name](o, ...args) as number);
    return o[0] as T;
  }

  version(): number {
    return this.out<number>('cuDriverGetVersion');
  }

  attribute(attr: number, dev: number): number {
    return this.out<number>('cuDeviceGetAttribute', attr, dev);
  }

  deviceName(dev: number): string {
    const buf = new Uint8Array(256);
    this.check('cuDeviceGetName', this.fns.cuDeviceGetName(buf, buf.length, dev) as number);
    const end = buf.indexOf(0);
    return Buffer.from(buf.subarray(0, end < 0 ? buf.length : end)).toString('utf8');
  }

  memInfo(): { free: number; total: number } {
    const f: unknown[] = [0];
    const t: unknown[] = [0];
    this.check('cuMemGetInfo_v2', this.fns.cuMemGetInfo_v2(f, t) as number);
    return { free: Number(f[0]), total: Number(t[0]) };
  }

  /** cuMemAlloc_v2; returns the raw code too, so the allocator can retry after an OOM. */
  tryAlloc(bytes: number): { ptr: DevicePtr } | { code: number } {
    const o: unknown[] = [0];
    const code = this.fns.cuMemAlloc_v2(o, bytes) as number;
    return code === 0 ? { ptr: BigInt(o[0] as number | bigint) } : { code };
  }
}

/** A device's identity and the limits the renderer and launcher need. */
export interface DeviceInfo {
  readonly ordinal: number;
  readonly name: string;
  /** Compute capability, e.g. [9, 0] for an H100/H200. */
  readonly cc: readonly [number, number];
  readonly sms: number;
  readonly totalMemory: number;
  readonly driverVersion: number;
}

/** cuInit, then the device's description and its primary context made current. */
export function openDevice(drv: Driver, ordinal = 0): { info: DeviceInfo; context: Handle } | { unavailable: string } {
  const init = drv.fns.cuInit(0) as number;
  if (init !== 0) {
    const d = drv.describe(init);
    return { unavailable: `the CUDA driver at ${drv.lib.path} failed to initialise: cuInit gave ${d.name} (${init}): ${d.message}` };
  }
  const count = drv.out<number>('cuDeviceGetCount');
  if (count <= ordinal) return { unavailable: `no CUDA device: the driver at ${drv.lib.path} sees ${count} device(s)` };
  const dev = drv.out<number>('cuDeviceGet', ordinal);
  const context = BigInt(drv.out<bigint | number>('cuDevicePrimaryCtxRetain', dev));
  drv.call('cuCtxSetCurrent', context);
  const info: DeviceInfo = {
    ordinal,
    name: drv.deviceName(dev),
    cc: [drv.attribute(ATTR.computeCapabilityMajor, dev), drv.attribute(ATTR.computeCapabilityMinor, dev)],
    sms: drv.attribute(ATTR.multiprocessorCount, dev),
    totalMemory: Number(drv.out<number | bigint>('cuDeviceTotalMem_v2', dev)),
    driverVersion: drv.version(),
  };
  return { info, context };
}
