// Path routing with the History API (the server answers index.html for every non-API path).
import { h, type ComponentChildren } from "preact";
import { Store, useStore } from "./store";

export const route = new Store<string>(location.pathname + location.search);
addEventListener("popstate", () => route.set(location.pathname + location.search));

export function navigate(to: string) {
  if (to === route.get()) return;
  history.pushState(null, "", to);
  route.set(to);
  scrollTo(0, 0);
}

/** Matches `pattern` (`/listing/:id`) against a path; the named parts, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.split("?")[0].split("/");
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(":")) out[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}

export const useRoute = () => useStore(route);

/** An in-app link. */
export function Link(props: { href: string; class?: string; children?: ComponentChildren; "data-testid"?: string }) {
  return h(
    "a",
    {
      ...props,
      onClick: (e: MouseEvent) => {
        if (e.ctrlKey || e.metaKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      },
    },
    props.children,
  );
}
