// The cause of Dawn 0.6.2's crash in ProcessEvents, reproduced: `node --expose-gc dawn-gc.mjs
// drop` lets the GPU object (from `create()`) be garbage-collected while its device is in use,
// and forces collections between GPU awaits: Dawn's scheduled ProcessEvents then runs on the
// freed instance (SIGSEGV, or a failed mutex assertion: exit 134/139). With `keep` the object
// stays reachable, as the backend keeps it, and the run ends with "ok".
import { create } from 'webgpu';

const keep = process.argv[2] === 'keep';
let gpu = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) {
  console.error('no adapter');
  process.exit(2);
}
const device = await adapter.requestDevice();
globalThis.heldGpu = keep ? gpu : null;
gpu = null;
for (let i = 0; i < 50; i++) {
  const b = device.createBuffer({ size: 16, usage: 1 /* MAP_READ */ | 8 /* COPY_DST */ });
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 1));
  await b.mapAsync(1);
  b.unmap();
  b.destroy();
}
device.destroy();
console.log('ok');
