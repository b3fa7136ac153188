import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { repoPath } from './testing/corpus.js';

// STYLE.md: data flows one way (bytes → formats → model → unwind → symbolize → analyze → report → shells).
// Read from the TypeScript sources, since the built files lose their type-only imports.
const SRC = repoPath('src');
const CORE = new Set(['io', 'formats', 'model', 'unwind', 'symbolize', 'images', 'analyze']);
const ABOVE_CORE = new Set(['report', 'cli', 'node', 'web', 'service']);

/** Every non-test source file under src/ with the modules it names in import or export statements, as written. */
function importSpecifiers(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
        const text = readFileSync(path, 'utf8');
        found.set(relative(SRC, path), [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gms)].map((m) => m[1]!));
      }
    }
  };
  walk(SRC);
  return found;
}

/** Every non-test source file under src/ with the files it imports or re-exports, as paths relative to src/. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
        const text = readFileSync(path, 'utf8');
        const deps = [...text.matchAll(/^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"](\.[^'"]+)['"]/gms)].map((m) =>
          relative(SRC, resolve(dirname(path), m[1]!.replace(/\.js$/, '.ts'))),
        );
        graph.set(relative(SRC, path), deps);
      }
    }
  };
  walk(SRC);
  return graph;
}

const layer = (file: string): string => file.split(/[/\\]/)[0]!;

test('the core imports nothing from report/, the shells or node/', () => {
  const offenders = [...importGraph()].flatMap(([file, deps]) =>
    CORE.has(layer(file)) ? deps.filter((d) => ABOVE_CORE.has(layer(d))).map((d) => `${file} -> ${d}`) : [],
  );
  assert.deepEqual(offenders, []);
});

test('the browser page (web/) and everything it runs import no Node module and nothing from cli/, node/ or testing/', () => {
  const graph = importGraph();
  const specifiers = importSpecifiers();
  const reached = new Set<string>();
  const visit = (file: string): void => {
    if (reached.has(file)) return;
    reached.add(file);
    for (const dep of graph.get(file) ?? []) visit(dep);
  };
  const pages = [...graph.keys()].filter((f) => layer(f) === 'web');
  assert.ok(pages.includes(join('web', 'worker.ts')) && pages.includes(join('web', 'page.ts')), 'the page sources were found');
  for (const page of pages) visit(page);
  const offenders = [...reached].flatMap((file) => [
    ...(['cli', 'node', 'testing'].includes(layer(file)) ? [file] : []),
    // Only relative imports (vite's ?worker&inline among them): no package, no node: module.
    ...(specifiers.get(file) ?? []).filter((s) => !s.startsWith('.')).map((s) => `${file} -> ${s}`),
  ]);
  assert.deepEqual(offenders, []);
});

test('analyze/ has no import cycles: the orchestrator imports the analyses, never the reverse', () => {
  const graph = importGraph();
  const inAnalyze = (f: string): boolean => layer(f) === 'analyze';
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string): void => {
    const at = path.indexOf(file);
    if (at >= 0) {
      cycles.push([...path.slice(at), file].join(' -> '));
      return;
    }
    if (done.has(file)) return;
    path.push(file);
    for (const dep of graph.get(file) ?? []) if (inAnalyze(dep)) visit(dep);
    path.pop();
    done.add(file);
  };
  for (const file of graph.keys()) if (inAnalyze(file)) visit(file);
  assert.ok(graph.has(join('analyze', 'process.ts')), 'the sources were found');
  assert.deepEqual(cycles, []);
});
