// Expr -> WGSL statements in SSA form: every node becomes one `let vN: T = ...;`, memoised by
// structure, so a subtree the scheduler shares is computed once per point. The branches of a
// `select` and a guarded load are child scopes, so a load is never hoisted out of its guard.
// (Same structure as the C renderer's expr.ts; only the printed syntax differs.)
import type { Expr, Idx } from '@resgrad/core';
import { alu, fromIndex, literal, wgslType } from './dialect.js';
import { renderCond, renderIdx } from './idx.js';

/** What expressions refer to: how to read kernel argument `i`, axis names, the reduced value. */
export interface ExprContext {
  /** The WGSL expression of element `index` (an i32 expression) of kernel argument `arg`. */
  load(arg: number, index: string): string;
  axis(a: number): string;
  /** Extents of all axes (output, then reduction), for index range analysis. */
  readonly extents: readonly number[];
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

  /** A structural key of `e` (cached per node). */
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
    return renderIdx(i, (a) => this.ctx.axis(a), this.ctx.extents);
  }

  private cond(i: Idx): string {
    return renderCond(i, (a) => this.ctx.axis(a), this.ctx.extents);
  }

  /** Renders `e` into this scope (once) and returns the WGSL expression of its value. */
  emit(e: Expr): string {
    const { ctx } = this;
    if (e.op === 'const') return literal(e.value, e.dtype);
    if (e.op === 'reduced') {
      if (!ctx.reduced) throw new Error('@resgrad/backend-webgpu: a `reduced` node outside a reduction epilogue');
      return ctx.reduced;
    }
    const key = this.key(e);
    const hit = this.lookup(key);
    if (hit) return hit;
    const t = wgslType(e.dtype, `expression '${e.op}'`);
    const name = ctx.fresh();
    switch (e.op) {
      case 'load': {
        const at = ctx.load(e.arg, this.idx(e.index));
        if (e.valid) {
          // Only where valid: an invalid index may point outside the buffer (or, in a packed
          // binding, into a neighbour).
          this.lines.push(`var ${name}: ${t} = ${literal(e.fill ?? 0, e.dtype)};`, `if ${this.cond(e.valid)} { ${name} = ${at}; }`);
        } else this.lines.push(`let ${name}: ${t} = ${at};`);
        break;
      }
      case 'index':
        this.lines.push(`let ${name}: ${t} = ${fromIndex(this.idx(e.index), e.dtype)};`);
        break;
      case 'alu': {
        const xs = e.args.map((a) => this.emit(a));
        const operand = e.alu === 'where' ? e.args[1]!.dtype : e.args[0]!.dtype;
        this.lines.push(`let ${name}: ${t} = ${alu(e.alu, xs, e.dtype, operand)};`);
        break;
      }
      case 'select': {
        const th = new Scope(ctx, this);
        const tv = th.emit(e.then);
        const el = new Scope(ctx, this);
        const ev = el.emit(e.else);
        this.lines.push(`var ${name}: ${t};`);
        this.lines.push(`if ${this.cond(e.cond)} {`, ...th.lines.map(ind), `  ${name} = ${tv};`, '} else {', ...el.lines.map(ind), `  ${name} = ${ev};`, '}');
        break;
      }
      case 'threefry': {
        const k0 = this.emit(e.key[0]);
        const k1 = this.emit(e.key[1]);
        this.lines.push(`let ${name}: i32 = rg_threefry0(bitcast<u32>(${k0}), bitcast<u32>(${k1}), ${e.stream >>> 0}u, bitcast<u32>(${this.idx(e.counter)}));`);
        break;
      }
    }
    this.memo.set(key, name);
    return name;
  }
}

export const ind = (l: string): string => `  ${l}`;
