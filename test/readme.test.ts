// The README's API tour is documentation that runs: every ```ts block is written to a
// temporary module and imported here, through vitest's loader, so '@resgrad/core' resolves
// to the sources (vitest.config.ts). A block fails the test by throwing, which its own
// node:assert checks do when behaviour drifts from what the README says. Snippets that are
// not meant to run must use another fence language (```sh, ```text).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { codeBlocks } from './readme-blocks.js';
import { typeErrors } from './readme-typecheck.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = codeBlocks(readme).filter((b) => b.lang === 'ts' || b.lang === 'typescript');
const dir = mkdtempSync(join(tmpdir(), 'resgrad-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a block as a module of its own (`export {}` keeps a block without imports a module). */
function blockFile(block: { line: number; code: string }): string {
  const file = join(dir, `block-${block.line}.mts`); // .mts: an ES module wherever it lies (top-level await)
  writeFileSync(file, `${block.code}\nexport {};\n`);
  return file;
}

describe('README', () => {
  it('has an API tour of runnable blocks', () => {
    expect(readme).toMatch(/^## API tour$/m);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it.each(blocks.map((b) => [`line ${b.line} (${b.heading})`, b] as const))('block at %s runs', async (_name, block) => {
    // Each block must stand alone: it imports what it uses, nothing is injected.
    expect(block.code).toMatch(/from '@resgrad\/core'/);
    await import(/* @vite-ignore */ pathToFileURL(blockFile(block)).href);
  });

  it('blocks type-check under the repo\'s strict settings', () => {
    expect(typeErrors(blocks.map(blockFile))).toEqual([]);
  });
});
