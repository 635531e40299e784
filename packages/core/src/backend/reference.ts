import { allocArray, type DType, type TypedArray } from '../dtype.js';
import { fail } from '../errors.js';
import type { Graph } from '../graph.js';
import { compileProgram } from '../kernel/interpret.js';
import { schedule } from '../kernel/schedule.js';
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

// An executable's arena stays counted until it is disposed or garbage-collected.
const arenaFinalizer = new FinalizationRegistry<{ bytes: number }>((held) => {
  bytesInUse -= held.bytes;
});

/**
 * Plain TypeScript over typed arrays, slow and obviously correct: the oracle. A one-equation
 * graph (an eager op) runs the primitive's reference implementation; a larger graph (a jitted
 * function) is scheduled into the shared kernel representation and interpreted, with its
 * temporaries in an arena the executable owns and reuses from call to call.
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
    if (graph.eqns.length <= 1) {
      return {
        run: (inputs) => evalGraphOracle(graph, inputs.map(hostData), consts).map((d) => wrap(d)),
        dispose() {},
      };
    }
    const program = schedule(graph, {
      scalarConst: (i) => (graph.consts[i]!.aval.shape.length === 0 ? consts[i]![0] : undefined),
      // The interpreter runs any epilogue after the op's reference result.
      libraryEpilogue: () => true,
    });
    const held = { bytes: 0 };
    const compiled = compileProgram(program, {
      onArena(bytes) {
        bytesInUse += bytes;
        held.bytes += bytes;
      },
    });
    const exe: Executable = {
      run: (inputs) => compiled.run(inputs.map(hostData), consts).map((d) => wrap(d)),
      dispose() {
        compiled.release();
        arenaFinalizer.unregister(exe);
      },
    };
    arenaFinalizer.register(exe, held, exe);
    return exe;
  },
};

export const referenceProvider: BackendProvider = {
  name: 'reference',
  priority: 0,
  load: () => referenceBackend,
};
