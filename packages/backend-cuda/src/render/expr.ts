// Expr -> CUDA C statements in SSA form: every node becomes one `const T vN = ...;` local,
// memoised by structure, so a subtree the scheduler shares is computed once per point.
// Scopes nest: the branches of a `select` and the body of a reduction loop are child scopes
// whose locals are visible only inside them, so a load guarded by a select is never hoisted
// out of its branch (and never touches memory where its condition is false).
//
// Same structure as backend-cpu's render/expr.ts; only the dialect (types, threefry call,
// index width) differs — the part to move into a shared C-like base later.
import type { Expr, Idx } from '@resgrad/core';
import type { Dialect } from './dialect.js';
import { renderIdx } from './idx.js';

/** What expressions refer to: argument names, axis names and extents, the reduced value. */
export interface ExprContext {
  readonly dialect: Dialect;
  /** Name of kernel argument `i` (a pointer). */
  arg(i: number): string;
  axis(a: number): string;
  /** Extents of all axes (output, then reduction), for index range analysis. */
  readonly extents: readonly number[];
  /** 64-bit index arithmetic (else 32-bit). */
  readonly wide: boolean;
  /** Name of the rounded reduction result, where `reduced` may appear. */
  reduced?: string;
  /** Fresh local names, shared across scopes. */
  fresh(): string;
}

/** A block of statements with its memo of rendered nodes; lookups fall back to the parent. */
export class Scope {
  readonly lines: string[] = [];
  private readonly memo = new Map<string, string>();
  constructor(
    readonly ctx: ExprContext,
    readonly parent?: Scope,
    private readonly keys: WeakMap<Expr, string> = parent?.keys ?? new WeakMap(),
  ) {}

  private lookup(key: string): string | undefined {
    return this.memo.get(key) ?? this.parent?.lookup(key);
  }

  /** A structural key of `e` (cached per node, so shared subtrees are keyed once). */
  key(e: Expr): string {
    let k = this.keys.get(e);
    if (k !== undefined) return k;
    switch (e.op) {
      case 'load':
        k = `L${e.dtype}:${e.arg}[${JSON.stringify(e.index)}]${e.valid ? `?${JSON.stringify(e.valid)}:${e.fill ?? 0}` : ''}`;
        break;
      case 'const':
        k = `C${e.dtype}:${Object.is(e.value, -0) ? '-0' : e.value}`;
        break;
      case 'index':
        k = `I${e.dtype}:${JSON.stringify(e.index)}`;
        break;
      case 'alu':
        k = `A${e.dtype}:${e.alu}(${e.args.map((a) => this.key(a)).join(',')})`;
        break;
      case 'select':
        k = `S${e.dtype}:${JSON.stringify(e.cond)}?${this.key(e.then)}:${this.key(e.else)}`;
        break;
      case 'threefry':
        k = `T:${this.key(e.key[0])},${this.key(e.key[1])},${e.stream},${JSON.stringify(e.counter)}`;
        break;
      case 'reduced':
        k = `R${e.dtype}`;
        break;
    }
    this.keys.set(e, k);
    return k;
  }

  private idx(i: Idx): string {
    const { ctx } = this;
    return renderIdx(i, (a) => ctx.axis(a), ctx.extents, ctx.wide);
  }

  /** Renders `e` into this scope (once) and returns the expression of its value. */
  emit(e: Expr): string {
    const { ctx } = this;
    const d = ctx.dialect;
    if (e.op === 'const') return d.literal(e.value, e.dtype);
    if (e.op === 'reduced') {
      if (!ctx.reduced) throw new Error('@resgrad/backend-cuda: a `reduced` node outside a reduction epilogue');
      return ctx.reduced;
    }
    const key = this.key(e);
    const hit = this.lookup(key);
    if (hit) return hit;
    const t = d.type[e.dtype];
    const name = ctx.fresh();
    switch (e.op) {
      case 'load': {
        const at = `${ctx.arg(e.arg)}[${this.idx(e.index)}]`;
        // ?: evaluates only the chosen operand, so an invalid index is never dereferenced.
        const v = e.valid ? `(${this.idx(e.valid)}) ? ${at} : ${d.literal(e.fill ?? 0, e.dtype)}` : at;
        this.lines.push(`const ${t} ${name} = ${v};`);
        break;
      }
      case 'index':
        this.lines.push(`const ${t} ${name} = ${d.fromIndex(this.idx(e.index), e.dtype)};`);
        break;
      case 'alu': {
        const xs = e.args.map((a) => this.emit(a));
        const operand = e.alu === 'where' ? e.args[1]!.dtype : e.args[0]!.dtype;
        this.lines.push(`const ${t} ${name} = ${d.alu(e.alu, xs, e.dtype, operand)};`);
        break;
      }
      case 'select': {
        const th = new Scope(ctx, this);
        const tv = th.emit(e.then);
        const el = new Scope(ctx, this);
        const ev = el.emit(e.else);
        this.lines.push(`${t} ${name};`);
        this.lines.push(`if (${this.idx(e.cond)}) {`, ...th.lines.map(ind), `  ${name} = ${tv};`, '} else {', ...el.lines.map(ind), `  ${name} = ${ev};`, '}');
        break;
      }
      case 'threefry': {
        const k0 = this.emit(e.key[0]);
        const k1 = this.emit(e.key[1]);
        this.lines.push(`const rg_i32 ${name} = rg_threefry0((rg_u32)${k0}, (rg_u32)${k1}, ${e.stream >>> 0}u, (rg_u32)(${this.idx(e.counter)}));`);
        break;
      }
    }
    this.memo.set(key, name);
    return name;
  }
}

export const ind = (l: string): string => `  ${l}`;
