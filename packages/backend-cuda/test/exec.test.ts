// CUDA execution conformance: the corpus's programs run on the GPU and are compared with the
// equation-by-equation oracle. Skips with one line where there is no GPU.
import { describe, expect, it } from 'vitest';
import { getBackend, makeGraph, tensor, type Tensor } from '@resgrad/core';
import { loadCudaBackend } from '@resgrad/backend-cuda';
import { checkGraph, CONFORMANCE } from './conformance.js';

const cuda = loadCudaBackend();
const why = 'unavailable' in cuda ? cuda.unavailable : null;
if (why) console.log(`cuda execution tests skipped: ${why}`);

describe.skipIf(why !== null)('cuda backend', () => {
  for (const grp of CONFORMANCE)
    it(`runs the ${grp.name} cases like the oracle (tolerance ${grp.tol})`, () => {
      const failures = grp.cases().flatMap(([label, g]) => checkGraph('cuda', g, label, grp.tol) ?? []);
      expect(failures).toEqual([]);
    });

  it('keeps device memory flat over repeated runs', () => {
    const backend = getBackend('cuda');
    const g = makeGraph((x: Tensor) => [x])(tensor(new Float32Array(1024), { shape: [1024] }));
    const exe = backend.compile(g);
    const x = backend.upload(new Float32Array(1024), 'float32');
    const step = () => exe.run([x]).forEach((o) => backend.free(o));
    step();
    const before = backend.memoryInUse!();
    for (let i = 0; i < 100; i++) step();
    expect(backend.memoryInUse!()).toBe(before);
  });
});
