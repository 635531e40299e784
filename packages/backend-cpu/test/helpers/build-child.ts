// Child process for the cache tests: builds one source into a given cache folder, loads
// it, calls it, and prints the outcome as JSON. Usage: build-child.ts <cacheDir> <sourceFile>
import { readFileSync } from 'node:fs';
import { compileAndLoad } from '../../src/compile.js';

const [dir, file] = process.argv.slice(2) as [string, string];
const lib = compileAndLoad<{ answer(): number }>(readFileSync(file, 'utf8'), { answer: 'int answer()' }, { cacheDir: dir });
process.stdout.write(JSON.stringify({ origin: lib.object.origin, path: lib.object.path, answer: lib.fns.answer() }));
