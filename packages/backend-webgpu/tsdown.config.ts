import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts'],
  external: [/^@resgrad\//, /^node:/, 'webgpu'],
  format: 'esm',
  dts: true,
  platform: 'neutral',
  target: 'es2022',
  clean: true,
  // The declarations use WebGPU's types (GPUDevice, ...): consumers get them with the package.
  banner: { dts: '/// <reference types="@webgpu/types" />' },
  // Packages are "type": "module", so plain .js is ESM; one naming for every package.
  outExtensions: () => ({ js: '.js', dts: '.d.ts' }),
  tsconfig: '../../tsconfig.base.json',
});
