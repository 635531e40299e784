#!/usr/bin/env node
// `npm run test:web`: builds examples/web (with its sample from the shared CIFAR-10 copy) and runs
// its end-to-end test in headless Chromium on the SwiftShader WebGPU adapter. Installs Debian's
// chromium when missing and run as root; fails when Chromium is still missing or the test did not run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const chromium = process.env.RESGRAD_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(chromium) && !process.env.RESGRAD_CHROMIUM && process.getuid?.() === 0) {
  // A fresh machine: Debian's Chromium is one package away (the test's only system dependency).
  console.log('test:web: installing Debian chromium (apt-get install chromium)');
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
if (!existsSync(chromium)) {
  console.error(`test:web: no Chromium at ${chromium} (apt-get install chromium as root, or set RESGRAD_CHROMIUM)`);
  process.exit(1);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const build = spawnSync(npm, ['run', 'web:build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('test:web: npm run web:build failed');
  process.exit(build.status || 1);
}
if (!existsSync(join(root, 'examples/web/dist/sample/train.bin'))) {
  console.error('test:web: the page was built without its sample (no CIFAR-10 copy at ../shared/data/cifar10-jpeg75)');
  process.exit(1);
}
const vitest = join(root, 'node_modules/vitest/vitest.mjs');
const run = spawnSync(process.execPath, [vitest, 'run', 'examples/web/e2e.test.ts', ...process.argv.slice(2)], {
  cwd: root,
  env: { ...process.env, RESGRAD_WEB_E2E: '1' },
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
