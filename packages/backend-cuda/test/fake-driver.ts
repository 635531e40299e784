// The driver wrapper the backend calls (check / call / out), over a table of fake driver
// functions that return CUDA result codes: shared by the tests that run without a GPU.

/** Fake driver entry points by name; each returns a CUresult (0 = success). */
export type FakeFns = Record<string, (...args: any[]) => number>;

/** `fns` wrapped as the backend's driver: nonzero codes throw, `out` passes a one-slot array. */
export function wrapFakeDriver<F extends FakeFns>(fns: F) {
  const driver = {
    fns,
    check(call: string, code: number) {
      if (code) throw new Error(`${call} failed with ${code}`);
    },
    call(name: string, ...args: unknown[]) {
      driver.check(name, fns[name]!(...args));
    },
    out<T>(name: string, ...args: unknown[]): T {
      const o: unknown[] = [null];
      driver.check(name, fns[name]!(o, ...args));
      return o[0] as T;
    },
  };
  return driver;
}
