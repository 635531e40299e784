// Reading the C sources shipped with the package (src/kernels/*.c, *.h). Local includes
// (`#include "x.h"`) are inlined here, as the preprocessor would (headers carry include
// guards; conv_impl.h is meant to be included once per element type), so the compiled
// translation unit, and
// therefore the cache key, contains every line it depends on; the files themselves stay
// ordinary C that an editor or `cc -fsyntax-only` understands.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// From src/ (tests, tsx) the kernels are at ./kernels; from dist/ (the built package) at
// ../src/kernels, which package.json "files" ships.
const roots = [new URL('./kernels/', import.meta.url), new URL('../src/kernels/', import.meta.url)];

function kernelPath(name: string): string {
  for (const r of roots) {
    const p = fileURLToPath(new URL(name, r));
    if (existsSync(p)) return p;
  }
  throw new Error(`@resgrad/backend-cpu: kernel source '${name}' not found (looked in ${roots.map((r) => fileURLToPath(r)).join(', ')})`);
}

/** The named kernel files concatenated, with local includes expanded. */
export function kernelSource(names: readonly string[]): string {
  const expand = (name: string, depth = 0): string => {
    if (depth > 16) throw new Error(`@resgrad/backend-cpu: kernel sources include each other in a cycle at '${name}'`);
    const text = readFileSync(kernelPath(name), 'utf8');
    return (
      `/* ---- ${name} ---- */\n` +
      text.replace(/^[ \t]*#[ \t]*include[ \t]+"([^"]+)".*$/gm, (_m, inc: string) => expand(inc, depth + 1))
    );
  };
  return names.map((n) => expand(n)).join('\n');
}
