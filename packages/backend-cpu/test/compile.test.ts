// The compiler driver and its on-disk cache: hits, concurrent builds, corrupted objects,
// compile errors, flags.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CompileError, compileAndLoad, compileSource, defaultFlags, findCompiler } from '@resgrad/backend-cpu';

const root = mkdtempSync(join(tmpdir(), 'resgrad-cache-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `c${n++}`);
// A unique body per test, so no two tests share a cache key by accident.
const src = (k: number) => `int answer(void) { return ${k}; }\n`;

const hasCompiler = !('unavailable' in findCompiler());

describe.skipIf(!hasCompiler)('compile cache', () => {
  it('builds once, then serves the cached object', () => {
    const dir = freshDir();
    const a = compileSource(src(41), { cacheDir: dir });
    expect(a.origin).toBe('built');
    const b = compileSource(src(41), { cacheDir: dir });
    expect(b).toMatchObject({ origin: 'cached', path: a.path });
    // Source kept next to the object; checksum sidecar present; no temporary files left.
    expect(readFileSync(a.sourcePath, 'utf8')).toBe(src(41));
    expect(readdirSync(dir).sort()).toEqual([`${a.key}.c`, `${a.key}.so`, `${a.key}.so.sha256`]);
    expect(compileAndLoad<{ answer(): number }>(src(41), { answer: 'int answer()' }, { cacheDir: dir }).fns.answer()).toBe(41);
  });

  it('keys on flags as well as source', () => {
    const dir = freshDir();
    const a = compileSource(src(1), { cacheDir: dir, flags: ['-O2', '-fPIC', '-shared'] });
    const b = compileSource(src(1), { cacheDir: dir, flags: ['-O3', '-fPIC', '-shared'] });
    expect(a.key).not.toBe(b.key);
  });

  it('rebuilds a truncated or garbage object instead of loading it', () => {
    const dir = freshDir();
    const a = compileSource(src(7), { cacheDir: dir });
    truncateSync(a.path, 100);
    const b = compileSource(src(7), { cacheDir: dir });
    expect(b.origin).toBe('rebuilt-corrupt');
    writeFileSync(b.path, 'not an ELF file at all');
    const c = compileSource(src(7), { cacheDir: dir });
    expect(c.origin).toBe('rebuilt-corrupt');
    // A missing checksum counts as corrupt too (e.g. a crash between the two renames).
    rmSync(`${c.path}.sha256`);
    expect(compileSource(src(7), { cacheDir: dir }).origin).toBe('rebuilt-corrupt');
    expect(compileAndLoad<{ answer(): number }>(src(7), { answer: 'int answer()' }, { cacheDir: dir }).fns.answer()).toBe(7);
  });

  it('two processes building the same kernel at once leave one valid object', async () => {
    const dir = freshDir();
    const file = join(root, 'concurrent.c');
    // A source slow enough to compile that the two builds overlap.
    const body = Array.from({ length: 400 }, (_, i) => `static int f${i}(int x) { return x * ${i + 3} + ${i}; }`).join('\n');
    writeFileSync(file, `${body}\nint answer(void) { return f399(0) + f0(1) - 396; }\n`);
    const helper = fileURLToPath(new URL('./helpers/build-child.ts', import.meta.url));
    const run = () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, ['--import', 'tsx', helper, dir, file], { cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
        let out = '';
        let err = '';
        p.stdout.on('data', (d) => (out += d));
        p.stderr.on('data', (d) => (err += d));
        p.on('close', (code) => resolve({ code, out, err }));
      });
    const results = await Promise.all([run(), run()]);
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).answer).toBe(6); // f399(0) + f0(1) - 396 = 399 + 3 - 396
    }
    const files = readdirSync(dir);
    expect(files.filter((f) => f.endsWith('.so'))).toHaveLength(1);
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(compileSource(readFileSync(file, 'utf8'), { cacheDir: dir }).origin).toBe('cached');
  });

  it('a failing compile names the compiler message and the source file', () => {
    const dir = freshDir();
    const bad = 'int answer(void) { return undeclared_thing + ; }\n';
    let err: unknown;
    try {
      compileSource(bad, { cacheDir: dir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompileError);
    const ce = err as CompileError;
    expect(ce.message).toContain(ce.sourcePath);
    expect(ce.message).toMatch(/error/);
    expect(ce.message).toMatch(/undeclared_thing|expected expression/);
    expect(existsSync(ce.sourcePath)).toBe(true);
    expect(readFileSync(ce.sourcePath, 'utf8')).toBe(bad);
    // Nothing half-built is left to be mistaken for a cached object.
    expect(readdirSync(dir).filter((f) => f.endsWith('.so') || f.includes('.tmp-'))).toEqual([]);
  });

  it('uses -march=native by default and portable flags when asked', () => {
    expect(defaultFlags(false)).toEqual(expect.arrayContaining(['-O3', '-march=native', '-fPIC', '-shared']));
    const portable = defaultFlags(true);
    expect(portable).toEqual(expect.arrayContaining(['-O3', '-mtune=generic', '-fPIC', '-shared']));
    expect(portable).not.toContain('-march=native');
    const old = process.env.RESGRAD_CPU_PORTABLE;
    process.env.RESGRAD_CPU_PORTABLE = '1';
    try {
      expect(defaultFlags()).toContain('-mtune=generic');
    } finally {
      if (old === undefined) delete process.env.RESGRAD_CPU_PORTABLE;
      else process.env.RESGRAD_CPU_PORTABLE = old;
    }
  });
});
