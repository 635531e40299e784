import type { DType, TypedArray } from '../dtype.js';
import type { Graph } from '../graph.js';

/** An opaque handle to memory owned by a backend. */
export interface DeviceBuffer {
  readonly backend: string;
}

/**
 * A compiled graph: `run` takes one buffer per graph input (in order) and returns one new
 * buffer per graph output, which the caller then owns. Intermediates stay owned by the
 * executable and are reused from call to call.
 */
export interface Executable {
  run(inputs: readonly DeviceBuffer[]): DeviceBuffer[];
  dispose(): void;
}

/**
 * What every backend implements. Graphs reach `compile` already traced and optimised; a
 * backend that generates code schedules them into the shared kernel representation
 * (`schedule` in `@resgrad/core`) and renders each kernel in its dialect.
 */
export interface Backend {
  readonly name: string;
  /** Copies host data into a new device buffer of `dtype`. */
  upload(data: TypedArray, dtype: DType): DeviceBuffer;
  /** Reads a buffer back synchronously; backends that cannot (WebGPU) omit it. */
  readSync?(buf: DeviceBuffer, dtype: DType, size: number): TypedArray;
  /** Reads a buffer back. */
  read(buf: DeviceBuffer, dtype: DType, size: number): Promise<TypedArray>;
  /** Releases a buffer; it must not be used afterwards. */
  free(buf: DeviceBuffer): void;
  /**
   * Compiles a graph whose constants are concrete tensors of this backend and whose
   * outputs are distinct variables produced by equations.
   */
  compile(graph: Graph): Executable;
  /** Bytes currently allocated, for leak tests and memory reports. */
  memoryInUse?(): number;
}

/** A backend that may be missing on this machine, with the reason when it is. */
export interface BackendProvider {
  readonly name: string;
  /** Higher wins when choosing the default backend. */
  readonly priority: number;
  /** Creates the backend, or returns the reason it cannot run here. */
  load(): Backend | { unavailable: string };
}
