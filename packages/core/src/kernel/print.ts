import type { DType } from '../dtype.js';
import { idxToString } from './idx.js';
import type { BufferInfo, Expr, Idx, Kernel, Program } from './ir.js';

const SHORT: Record<DType, string> = { float32: 'f32', float64: 'f64', int32: 'i32', bool: 'bool' };

const INFIX: Partial<Record<string, string>> = {
  add: '+', sub: '-', mul: '*', div: '/', eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=',
};

/** Axis names: output axes i0, i1, ...; reduction axes r0, r1, ... */
const axisNamer = (rank: number) => (a: number) => (a < rank ? `i${a}` : `r${a - rank}`);

/** Prints a scalar expression; `arg` names kernel arguments, `names` the axes. */
export function exprToString(e: Expr, arg: (i: number) => string, names: (a: number) => string): string {
  const s = (x: Expr) => exprToString(x, arg, names);
  const i = (x: Idx) => idxToString(x, names);
  switch (e.op) {
    case 'load': {
      const at = `${arg(e.arg)}[${i(e.index)}]`;
      return e.valid ? `(${i(e.valid)} ? ${at} : ${fmtNum(e.fill ?? 0)})` : at;
    }
    case 'const':
      return fmtNum(e.value);
    case 'index':
      return `index(${i(e.index)})`;
    case 'alu': {
      const op = INFIX[e.alu];
      if (op && e.args.length === 2) return `(${s(e.args[0]!)} ${op} ${s(e.args[1]!)})`;
      if (e.alu === 'cast' || e.alu === 'bitsToFloat') return `${e.alu}<${SHORT[e.dtype]}>(${s(e.args[0]!)})`;
      return `${e.alu}(${e.args.map(s).join(', ')})`;
    }
    case 'select':
      return `(${i(e.cond)} ? ${s(e.then)} : ${s(e.else)})`;
    case 'threefry':
      return `threefry(${s(e.key[0])}, ${s(e.key[1])}; ${e.stream}, ${i(e.counter)})`;
    case 'reduced':
      return 'acc';
  }
}

function fmtNum(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

const bufName = (b: BufferInfo) => {
  switch (b.role.kind) {
    case 'input':
      return `in${b.role.index}`;
    case 'const':
      return `const${b.role.index}`;
    case 'output':
      return `out${b.role.index}`;
    case 'temp':
      return `t${b.id}`;
  }
};

const typed = (b: BufferInfo) => `${bufName(b)}:${SHORT[b.dtype]}[${b.shape.join(',')}]`;

/** Prints one kernel of `program`. */
export function kernelToString(k: Kernel, program: Program, index: number): string {
  const buf = (id: number) => program.buffers[id]!;
  const head = `k${index} ${typed(buf(k.out))} <- ${k.kind === 'library' ? k.op : 'fused'}(${k.args.map((a) => bufName(buf(a))).join(', ')})`;
  const names = axisNamer(k.shape.length);
  const arg = (a: number) => bufName(buf(k.args[a]!));
  if (k.kind === 'library') {
    const p = JSON.stringify(k.params);
    const line = p === '{}' ? head : `${head} ${p}`;
    if (!k.epilogue) return line;
    return `${line}\n  then out[${k.shape.map((_, a) => `i${a}`).join(',')}] = ${exprToString(k.epilogue, arg, names)}`;
  }
  const lines = [head];
  if (k.reduce) {
    const axes = k.reduce.extents.map((n, j) => `r${j}<${n}`).join(', ');
    lines.push(`  acc = ${k.reduce.op} over ${axes} of ${exprToString(k.reduce.body, arg, names)}`);
  }
  lines.push(`  out[${k.shape.map((_, a) => `i${a}`).join(',')}] = ${exprToString(k.expr, arg, names)}`);
  return lines.join('\n');
}

/** A readable listing of a program: its buffers, the arena slots, and each kernel. */
export function formatProgram(p: Program): string {
  const bytes = p.slots.reduce((s, sl) => s + sl.size * ({ float32: 4, float64: 8, int32: 4, bool: 1 } as const)[sl.dtype], 0);
  const lines = [
    `program: ${p.kernels.length} kernel(s), ${p.buffers.filter((b) => b.role.kind === 'temp').length} temporaries in ${p.slots.length} slot(s) (${bytes} bytes)`,
  ];
  const temps = p.buffers.filter((b) => b.role.kind === 'temp');
  if (temps.length) lines.push(`  temps: ${temps.map((b) => `${typed(b)}@slot${(b.role as { slot: number }).slot}`).join(' ')}`);
  p.kernels.forEach((k, i) => lines.push(kernelToString(k, p, i)));
  return lines.join('\n');
}
