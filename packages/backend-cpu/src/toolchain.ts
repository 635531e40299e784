// Finding the system C compiler and choosing its flags. The compiler's `--version` text is
// part of every cache key, so upgrading gcc never loads objects built by the old one.
import { spawnSync } from 'node:child_process';

export interface Compiler {
  /** The command and its leading arguments, e.g. ['gcc'] or ['ccache', 'gcc'] from CC. */
  readonly argv: readonly string[];
  /** First line of `--version`, for messages. */
  readonly version: string;
  /** The whole `--version` output, hashed into cache keys. */
  readonly versionText: string;
}

let found: Compiler | { unavailable: string } | undefined;

/** Candidates in order: $CC (split on blanks, so "ccache gcc" works), then cc, gcc, clang. */
function candidates(): string[][] {
  const env = process.env.CC?.trim();
  const list = env ? [env.split(/\s+/)] : [];
  return [...list, ['cc'], ['gcc'], ['clang']];
}

/** The first working C compiler, or the reason none was found (memoised per process). */
export function findCompiler(): Compiler | { unavailable: string } {
  if (found) return found;
  const tried: string[] = [];
  for (const argv of candidates()) {
    const r = spawnSync(argv[0]!, [...argv.slice(1), '--version'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status === 0 && r.stdout) {
      const versionText = r.stdout.trim();
      found = { argv, version: versionText.split('\n')[0]!, versionText };
      return found;
    }
    tried.push(argv.join(' '));
  }
  found = { unavailable: `no C compiler found (tried ${tried.join(', ')}; set CC to one)` };
  return found;
}

/** Like findCompiler, but throws the reason. */
export function requireCompiler(): Compiler {
  const c = findCompiler();
  if ('unavailable' in c) throw new Error(`@resgrad/backend-cpu: ${c.unavailable}`);
  return c;
}

/** True when RESGRAD_CPU_PORTABLE asks for objects that run on any CPU of this architecture. */
export const portableRequested = (): boolean => /^(1|true|yes)$/i.test(process.env.RESGRAD_CPU_PORTABLE ?? '');

/**
 * Flags for a shared object. -march=native lets the compiler use every instruction of this
 * CPU in plain loops; the portable build keeps the baseline ISA (the SIMD micro-kernels are
 * still chosen at run time through target attributes and CPU detection).
 * No -ffast-math: results must stay comparable with the reference backend (-O3 keeps
 * IEEE semantics; gcc's default -ffp-contract=fast does allow FMA contraction).
 */
export function defaultFlags(portable = portableRequested()): string[] {
  return ['-std=gnu11', '-O3', portable ? '-mtune=generic' : '-march=native', '-fPIC', '-shared', '-pthread'];
}
