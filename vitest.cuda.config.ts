// `npm run test:cuda`: the CUDA backend's checks that need nvcc/NVRTC but no GPU (slow: they
// compile every generated kernel), kept out of the default `npm test`. Same aliases and setup
// as vitest.config.ts; only the files differ.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['packages/backend-cuda/ci/**/*.check.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
