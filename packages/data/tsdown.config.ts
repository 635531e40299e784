import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts'],
  external: [/^@resgrad\//, /^node:/],
  format: 'esm',
  dts: true,
  platform: 'node',
  target: 'es2022',
  clean: true,
  tsconfig: '../../tsconfig.base.json',
});
