import { allocArray, type DType, type TypedArray } from '../dtype.js';
import { fail } from '../errors.js';
import type { Graph } from '../graph.js';
import type { Tensor } from '../tensor.js';
import type { Backend, BackendProvider, DeviceBuffer, Executable } from './interface.js';
import { evalGraphOracle } from './oracle.js';

/** A reference-backend buffer: a typed array in this process. */
export interface HostBuffer extends DeviceBuffer {
  readonly backend: 'reference';
  data: TypedArray;
}

function hostData(buf: DeviceBuffer): TypedArray {
  const b = buf as HostBuffer;
  if (b.backend !== 'reference') fail('reference', `got a buffer of backend '${buf.backend}'`);
  return b.data;
}

let bytesInUse = 0;

const wrap = (data: TypedArray): HostBuffer => {
  bytesInUse += data.byteLength;
  return { backend: 'reference', data };
};

/**
 * Plain TypeScript over typed arrays: every graph is evaluated equation by equation with the
 * primitives' reference implementations. Slow and obviously correct; the oracle.
 */
export const referenceBackend: Backend = {
  name: 'reference',
  upload(data: TypedArray, dtype: DType) {
    const copy = allocArray(dtype, data.length);
    copy.set(data);
    return wrap(copy);
  },
  readSync(buf: DeviceBuffer) {
    return hostData(buf).slice();
  },
  async read(buf: DeviceBuffer) {
    return hostData(buf).slice();
  },
  free(buf: DeviceBuffer) {
    const b = buf as HostBuffer;
    if (b.data.byteLength) bytesInUse -= b.data.byteLength;
    b.data = new Float32Array(0);
  },
  memoryInUse: () => bytesInUse,
  compile(graph: Graph): Executable {
    const consts = graph.constValues.map((t: Tensor) => hostData(t.concrete('compile').buffer));
    return {
      run: (inputs) => evalGraphOracle(graph, inputs.map(hostData), consts).map((d) => wrap(d)),
      dispose() {},
    };
  },
};

export const referenceProvider: BackendProvider = {
  name: 'reference',
  priority: 0,
  load: () => referenceBackend,
};
