// End to end: the built page (npm run web:build) served from 127.0.0.1, opened in headless
// Chromium on its SwiftShader WebGPU adapter, trains ResNet-8 on the bundled sample; the loss
// must fall, and a screenshot is kept in test-results/. Run by `npm run test:web`, which builds
// the page and sets RESGRAD_WEB_E2E=1; skipped otherwise.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(root, 'examples/web/dist');
const chromiumPath = process.env.RESGRAD_CHROMIUM ?? '/usr/bin/chromium';
const enabled = process.env.RESGRAD_WEB_E2E === '1';
// SwiftShader runs WGSL on the CPU, slowly: a short run on a 64-image cut of the sample (16
// images a step, so 3 passes over it) is enough to see the loss fall.
const STEPS = 12;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.bin': 'application/octet-stream', '.svg': 'image/svg+xml' };

function serve(dir: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe.skipIf(!enabled)('examples/web in headless Chromium (WebGPU on SwiftShader)', () => {
  let server: Server;
  beforeAll(async () => {
    if (!existsSync(join(dist, 'index.html'))) throw new Error(`${dist}/index.html is missing: run npm run web:build first`);
    if (!existsSync(join(dist, 'sample/train.bin'))) throw new Error(`${dist}/sample/ is missing: npm run web:build makes it from the shared CIFAR-10 copy`);
    if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium, or set RESGRAD_CHROMIUM`);
    server = await serve(dist);
  });
  afterAll(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it(`trains ResNet-8 on 64 images of the bundled sample for ${STEPS} steps and the loss falls`, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      // No sandbox (CI runs as root); no background connections (the network is closed);
      // WebGPU on Chromium's CPU adapter.
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'],
    });
    const problems: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
      });
      const port = (server.address() as AddressInfo).port;
      await page.goto(`http://127.0.0.1:${port}/?autostart=sample&depth=8&batch=16&steps=${STEPS}&lr=0.1&train=64&test=32`);
      try {
        await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(document.body.dataset.state ?? ''), undefined, { timeout: 540_000, polling: 500 });
      } catch (e) {
        const where = await page.evaluate(() => document.getElementById('status')?.textContent ?? '');
        throw new Error(`the page did not finish: ${(e as Error).message.split('\n')[0]}; its status: ${where}`);
      }
      const result = await page.evaluate(() => (globalThis as unknown as { resgrad: { state: string; message: string; adapter: string; steps: { loss: number }[]; evals: { testError: number }[] } }).resgrad);
      mkdirSync(join(root, 'test-results'), { recursive: true });
      await page.screenshot({ path: join(root, 'test-results/web-e2e.png'), fullPage: true });
      expect(result.state, result.message).toBe('done');
      expect(problems).toEqual([]);
      const losses = result.steps.map((s) => s.loss);
      expect(losses).toHaveLength(STEPS);
      for (const l of losses) expect(Number.isFinite(l)).toBe(true);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const first = mean(losses.slice(0, 3));
      const last = mean(losses.slice(-3));
      console.log(`web e2e on "${result.adapter}": loss ${first.toFixed(3)} (first 3 steps) -> ${last.toFixed(3)} (last 3); test error ${result.evals.at(-1)!.testError}`);
      expect(first).toBeGreaterThan(2.0);
      expect(last).toBeLessThan(first - 0.2);
      expect(result.evals.length).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  }, 600_000);
});
