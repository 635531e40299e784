import type { DType } from './dtype.js';
import { fmtShape } from './errors.js';
import type { PrimName, Params } from './primitives/types.js';
import type { Tensor } from './tensor.js';

/** Shape and dtype of a value, without its data. */
export interface Aval {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

let nextVarId = 0;

/** A value in a graph, defined once (SSA). */
export class Var {
  readonly id = nextVarId++;
  constructor(readonly aval: Aval) {}
}

/** One primitive application: `out = prim[params](...inputs)`. */
export interface Eqn<P extends PrimName = PrimName> {
  readonly prim: P;
  readonly inputs: readonly Var[];
  readonly params: Params[P];
  readonly out: Var;
}

/**
 * A traced function as a typed SSA list of primitive equations (jaxpr-like). `consts`
 * are values captured from outside the function; `constValues[i]` holds `consts[i]`'s value
 * (a concrete tensor, or a tracer of an enclosing trace).
 */
export class Graph {
  constructor(
    readonly inputs: readonly Var[],
    readonly consts: readonly Var[],
    readonly constValues: readonly Tensor[],
    readonly eqns: readonly Eqn[],
    readonly outputs: readonly Var[],
  ) {}

  /** A readable printout, in the style of a jaxpr. */
  toString(): string {
    const names = new Map<Var, string>();
    const name = (v: Var): string => {
      let n = names.get(v);
      if (n === undefined) {
        n = varName(names.size);
        names.set(v, n);
      }
      return n;
    };
    const typed = (v: Var) => `${name(v)}:${avalString(v.aval)}`;
    const lines: string[] = [];
    const constPart = this.consts.length ? `consts ${this.consts.map(typed).join(', ')}; ` : '';
    lines.push(`{ lambda ${constPart}${this.inputs.map(typed).join(', ')} .`);
    for (const e of this.eqns) {
      const p = paramString(e.params as Record<string, unknown>);
      lines.push(`  ${typed(e.out)} = ${e.prim}${p} ${e.inputs.map(name).join(' ')}`.trimEnd());
    }
    lines.push(`  in (${this.outputs.map(name).join(', ')}) }`);
    return lines.join('\n');
  }
}

function varName(i: number): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (i % 26)) + s;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return s;
}

const DTYPE_SHORT: Record<DType, string> = { float32: 'f32', float64: 'f64', int32: 'i32', bool: 'bool' };

export function avalString(a: Aval): string {
  return `${DTYPE_SHORT[a.dtype]}${fmtShape(a.shape)}`;
}

function paramString(p: Record<string, unknown>): string {
  const keys = Object.keys(p);
  if (keys.length === 0) return '';
  return `[${keys.map((k) => `${k}=${JSON.stringify(p[k])}`).join(' ')}]`;
}
