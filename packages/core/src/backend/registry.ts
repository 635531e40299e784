import { fail } from '../errors.js';
import type { Backend, BackendProvider } from './interface.js';
import { referenceProvider } from './reference.js';

const providers = new Map<string, BackendProvider>();
const loaded = new Map<string, Backend | { unavailable: string }>();
let chosenDefault: Backend | undefined;
let notice: string | undefined;

/** Makes a backend known to resgrad; backend packages call this when imported. */
export function registerBackend(provider: BackendProvider): void {
  providers.set(provider.name, provider);
  loaded.delete(provider.name);
  if (!envBackend()) chosenDefault = undefined;
}

// RESGRAD_BACKEND names the default backend in Node; a browser has no environment.
function envBackend(): string | undefined {
  return typeof process !== 'undefined' ? process.env?.RESGRAD_BACKEND : undefined;
}

registerBackend(referenceProvider);

function load(name: string): Backend | { unavailable: string } {
  let b = loaded.get(name);
  if (!b) {
    const p = providers.get(name);
    if (!p) return { unavailable: `unknown backend (registered: ${[...providers.keys()].join(', ')})` };
    try {
      b = p.load();
    } catch (e) {
      b = { unavailable: `failed to load: ${(e as Error).message}` };
    }
    loaded.set(name, b);
  }
  return b;
}

/** Status of every registered backend, with the reason why an unavailable one cannot run. */
export function availableBackends(): { name: string; available: boolean; reason?: string }[] {
  return [...providers.values()]
    .sort((a, b) => b.priority - a.priority)
    .map((p) => {
      const b = load(p.name);
      return 'unavailable' in b ? { name: p.name, available: false, reason: b.unavailable } : { name: p.name, available: true };
    });
}

/** The backend named `name`; throws with the reason when it is unavailable. */
export function getBackend(name: string): Backend {
  const b = load(name);
  if ('unavailable' in b) fail('getBackend', `backend '${name}' is unavailable: ${b.unavailable}`);
  return b;
}

/** Sets the backend used when inputs do not decide (creation ops, jit of no tensors). */
export function setDefaultBackend(name: string): void {
  chosenDefault = getBackend(name);
}

/**
 * The default backend: the one set by `setDefaultBackend`, else `RESGRAD_BACKEND`, else the
 * available backend of highest priority.
 */
export function defaultBackend(): Backend {
  if (chosenDefault) return chosenDefault;
  const env = envBackend();
  if (env) {
    chosenDefault = getBackend(env);
    return chosenDefault;
  }
  const ranked = [...providers.values()].sort((a, b) => b.priority - a.priority);
  const skipped: string[] = [];
  for (const p of ranked) {
    const b = load(p.name);
    if ('unavailable' in b) {
      skipped.push(`${p.name}: ${b.unavailable}`);
      continue;
    }
    chosenDefault = b;
    if (skipped.length && notice === undefined) {
      notice = `resgrad: using the '${b.name}' backend (${skipped.join('; ')})`;
      console.warn(notice);
    }
    return b;
  }
  return fail('defaultBackend', 'no backend is available');
}
