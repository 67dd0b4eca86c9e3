// A value pages subscribe to (the wallet, the config, the signed-in session).
import { useEffect, useState } from "preact/hooks";

export class Store<T> {
  private subs = new Set<(v: T) => void>();
  constructor(private value: T) {}
  get(): T {
    return this.value;
  }
  set(v: T) {
    this.value = v;
    for (const s of this.subs) s(v);
  }
  update(f: (v: T) => T) {
    this.set(f(this.value));
  }
  subscribe(f: (v: T) => void): () => void {
    this.subs.add(f);
    return () => this.subs.delete(f);
  }
}

/** The store's current value, re-rendering on change. */
export function useStore<T>(s: Store<T>): T {
  const [v, setV] = useState(s.get());
  useEffect(() => {
    setV(s.get());
    return s.subscribe(setV);
  }, [s]);
  return v;
}
