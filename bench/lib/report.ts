import { cpus, loadavg } from 'node:os';

// Output of the benchmarks: one JSON line per measurement on stdout (for machines: CI
// trend files, the README table) and a short readable summary on stderr (for people).

export interface Measurement {
  /** Which measurement, e.g. "eager_add". */
  bench: string;
  backend: string;
  /** The headline figure: a median. */
  value: number;
  unit: string;
  /** Shapes, sizes, repeat counts and secondary figures. */
  [extra: string]: unknown;
}

const summary: string[] = [];

export function emit(m: Measurement, note?: string): void {
    // The four keys every line has come first, so the lines read alike.
  const { bench, backend, value, unit, ...rest } = m;
  // Where it ran: timings from a loaded machine (load1 above its CPU count) are suspect.
  const host = { node: process.version, cpu: cpus()[0]?.model, cpus: cpus().length, load1: Number(loadavg()[0]!.toFixed(2)) };
  process.stdout.write(`${JSON.stringify({ bench, backend, value, unit, ...rest, ...host })}\n`);
  summary.push(`  ${`${m.bench} (${m.backend})`.padEnd(40)} ${String(m.value).padStart(10)} ${m.unit}${note ? `   ${note}` : ''}`);
}

export function printSummary(title: string): void {
  process.stderr.write(`${title}\n${summary.join('\n')}\n`);
}

/** `--name=value` flags as numbers, with defaults; unknown flags are an error, not ignored. */
export function numericFlags<T extends Record<string, number>>(argv: readonly string[], defaults: T): T {
  const out: Record<string, number> = { ...defaults };
  for (const a of argv) {
    const m = /^--([a-zA-Z]+)=(\d+(?:\.\d+)?)$/.exec(a);
    if (!m || !(m[1]! in defaults))
      throw new Error(`unknown argument '${a}'; expected ${Object.keys(defaults).map((k) => `--${k}=N`).join(' ')}`);
    out[m[1]!] = Number(m[2]);
  }
  return out as T;
}
