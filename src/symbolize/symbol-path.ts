// WinDbg's symbol path (_NT_SYMBOL_PATH, .sympath; "Symbol path for Windows debuggers" in
// Microsoft's debugger documentation): elements separated by ';', each one of
//   <dir>                                a directory (flat, symstore or, for stackhog, Breakpad layout)
//   srv*[<store>*...]<server>            a symbol server; the stores before it are downstream caches,
//   symsrv*<dll>*[<store>*...]<server>   searched in order, the first one receiving downloads
//   cache*[<dir>]                        downloads for the elements to its right go to <dir>
// An empty store or cache (srv**<server>, cache*) means the default cache. A server that is not an
// http(s) URL (srv*\\share\symbols) is a file share: searched as a directory.

export type SymbolPathElement =
  | { readonly kind: 'directory'; readonly path: string }
  /** `caches` in search order, the first receiving downloads; empty means the default cache. */
  | { readonly kind: 'server'; readonly url: string; readonly caches: readonly string[] };

export function isHttpUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

/** The elements of a symbol path in order; empty elements are dropped. */
export function parseSymbolPath(path: string): SymbolPathElement[] {
  const out: SymbolPathElement[] = [];
  let cacheInEffect: string | undefined; // '' is the default cache
  for (const raw of path.split(';')) {
    const element = raw.trim();
    if (element === '') continue;
    const parts = element.split('*').map((p) => p.trim());
    const head = parts[0]!.toLowerCase();
    if (parts.length === 1) {
      out.push(isHttpUrl(element) ? server(element, [], cacheInEffect) : { kind: 'directory', path: element });
      continue;
    }
    if (head === 'cache') {
      cacheInEffect = parts.slice(1).join('*');
      continue;
    }
    if (head === 'srv' || head === 'symsrv') {
      const rest = parts.slice(head === 'srv' ? 1 : 2);
      const target = rest.pop();
      if (target === undefined || target === '') {
        // srv* with no server: nothing to ask; its stores are still directories to search.
        for (const store of rest) if (store !== '') out.push({ kind: 'directory', path: store });
        continue;
      }
      if (isHttpUrl(target)) out.push(server(target, rest, cacheInEffect));
      else {
        for (const store of rest) if (store !== '') out.push({ kind: 'directory', path: store });
        out.push({ kind: 'directory', path: target });
      }
      continue;
    }
    // An unknown prefix with '*' (a typo, another debugger's syntax): kept as a directory, which is searched and simply absent.
    out.push({ kind: 'directory', path: element });
  }
  return out;
}

function server(url: string, stores: readonly string[], cacheInEffect: string | undefined): SymbolPathElement {
  const given = stores.filter((s) => s !== '');
  const caches = given.length > 0 ? given : cacheInEffect ? [cacheInEffect] : [];
  return { kind: 'server', url: url.replace(/\/+$/, ''), caches };
}
