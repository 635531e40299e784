// Structural keys of scalar expressions: equal keys mean equal values at every point of a
// kernel, so the walker computes a subtree the scheduler shares (by identity or by value)
// once per point, not once per use. Keys are cached per node, so a shared subtree is keyed
// once however often it is reached.
import type { Expr } from '../ir.js';

/** A cache of structural keys, shared by the scopes of one kernel. */
export class ExprKeys {
  private readonly cache = new WeakMap<Expr, string>();

  of(e: Expr): string {
    let k = this.cache.get(e);
    if (k !== undefined) return k;
    switch (e.op) {
      case 'load':
        k = `L${e.dtype}:${e.arg}[${JSON.stringify(e.index)}]${e.valid ? `?${JSON.stringify(e.valid)}:${e.fill ?? 0}` : ''}`;
        break;
      case 'const':
        // -0 and 0 differ (1 / x), and String(-0) is '0'.
        k = `C${e.dtype}:${Object.is(e.value, -0) ? '-0' : e.value}`;
        break;
      case 'index':
        k = `I${e.dtype}:${JSON.stringify(e.index)}`;
        break;
      case 'alu':
        k = `A${e.dtype}:${e.alu}(${e.args.map((a) => this.of(a)).join(',')})`;
        break;
      case 'select':
        k = `S${e.dtype}:${JSON.stringify(e.cond)}?${this.of(e.then)}:${this.of(e.else)}`;
        break;
      case 'threefry':
        k = `T:${this.of(e.key[0])},${this.of(e.key[1])},${e.stream},${JSON.stringify(e.counter)}`;
        break;
      case 'reduced':
        k = `R${e.dtype}`;
        break;
    }
    this.cache.set(e, k);
    return k;
  }
}
