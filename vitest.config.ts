import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; `npm run build` produces what users import.
    alias: { '@resgrad/core': src('core'), '@resgrad/nn': src('nn'), '@resgrad/data': src('data'), '@resgrad/backend-cpu': src('backend-cpu'), '@resgrad/backend-webgpu': src('backend-webgpu'), '@resgrad/backend-cuda': src('backend-cuda') },
  },
  test: {
    include: ['packages/*/{src,test}/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    setupFiles: ['./test/setup.ts'],
    testTimeout: 60_000,
  },
});
