// Process-wide state. The hub's server code is loaded twice in one process (by src/main.ts through tsx, and
// inside the Next.js bundle, where server components call the router in-process), so a module-level variable
// would exist twice. Each such piece of state lives here instead, once per process, under its own name.
const store = globalThis as unknown as { __capsul?: Map<string, unknown> };

/** The process's one instance of `name`, made by `make` on first use. */
export function processSingleton<T>(name: string, make: () => T): T {
  const all = (store.__capsul ??= new Map());
  if (!all.has(name)) all.set(name, make());
  return all.get(name) as T;
}
