// Child process for the exit test: starts the pool, runs regions and kernels, then leaves
// the way argv[2] says ('return' from the module, 'exit' via process.exit, 'throw' an
// uncaught error is not used: its status is 1 by design). The parent checks the status.
import { conv2d, gemm, loadRuntime } from '../../src/index.js';

const rt = loadRuntime();
for (let i = 0; i < 200; i++) rt.fns.rg_empty_region(64);
const a = new Float32Array(128 * 128).fill(1);
const c = new Float32Array(128 * 128);
gemm({ M: 128, N: 128, K: 128, a, b: a, c });
const p = { stride: [1, 1], padding: [[1, 1], [1, 1]], dilation: [1, 1], groups: 1 } as const;
conv2d(new Float32Array(4 * 8 * 8 * 8), [4, 8, 8, 8], new Float32Array(8 * 8 * 9), [8, 8, 3, 3], p);
process.stdout.write(`started=${rt.fns.rg_pool_started()} c=${c[0]}\n`);
if (process.argv[2] === 'exit') process.exit(0);
