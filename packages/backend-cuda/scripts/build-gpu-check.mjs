// Bundles scripts/gpu-check.ts (and everything it imports, our packages from their sources)
// into .device/cuda-check/check.mjs, and copies koffi with its linux-x64 native module next to
// it, so the GPU machine needs neither node_modules nor npm. Run from the repo root.
import { build } from 'esbuild';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const out = join(root, '.device/cuda-check');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const src = (p) => join(root, 'packages', p, 'src/index.ts');
await build({
  entryPoints: [join(root, 'packages/backend-cuda/scripts/gpu-check.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: join(out, 'check.mjs'),
  external: ['koffi'],
  alias: { '@resgrad/core': src('core'), '@resgrad/nn': src('nn'), '@resgrad/backend-cuda': src('backend-cuda') },
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: 'warning',
});
// koffi looks for its native module in ../../@koromix/koffi-<platform> relative to itself.
for (const p of ['koffi', '@koromix/koffi-linux-x64'])
  cpSync(join(root, 'node_modules', p), join(out, 'node_modules', p), { recursive: true });
// Like ../shared/gpu/pack-node.sh: .device/ stays out of git status.
const exclude = join(root, '.git/info/exclude');
if (existsSync(join(root, '.git/info')) && !(existsSync(exclude) && readFileSync(exclude, 'utf8').split('\n').includes('/.device/')))
  appendFileSync(exclude, '/.device/\n');
console.log(`bundled ${join(out, 'check.mjs')}`);
