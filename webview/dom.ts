/** Lookups the panel's own skeleton and maps guarantee; a miss is a bug, said by name rather than a null crash later. */

export function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`webview skeleton is missing #${id}`);
  return el as T;
}

export function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new Error(`webview: no ${what}`);
  return value;
}
