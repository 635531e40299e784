// Builds the page from the sources: the browser entries of @resgrad/nn and @resgrad/data
// (no file system, no worker threads), core and the WebGPU backend.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const pkg = (path: string) => fileURLToPath(new URL(`../../packages/${path}`, import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  resolve: {
    alias: {
      '@resgrad/core': pkg('core/src/index.ts'),
      '@resgrad/nn': pkg('nn/src/portable.ts'),
      '@resgrad/data': pkg('data/src/portable.ts'),
      '@resgrad/backend-webgpu': pkg('backend-webgpu/src/index.ts'),
    },
  },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2048 },
});
