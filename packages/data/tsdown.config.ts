import { defineConfig } from 'tsdown';

export default defineConfig({
  entry: ['src/index.ts', 'src/portable.ts'],
  external: [/^@resgrad\//, /^node:/],
  format: 'esm',
  dts: true,
  platform: 'node',
  target: 'es2022',
  clean: true,
  // Packages are "type": "module", so plain .js is ESM; one naming for every package.
  outExtensions: () => ({ js: '.js', dts: '.d.ts' }),
  tsconfig: '../../tsconfig.base.json',
});
