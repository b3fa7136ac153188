// The browser page (src/web/) built into one self-contained file, dist/web/index.html: the page's
// script and style inlined, and the analysis worker inlined into the script (`?worker&inline`, a
// blob: URL at run time). One file works opened from disk (file://), where Chromium refuses module
// scripts and workers loaded by URL, and it is the same file `stackhog serve` serves.
import { createHash } from 'node:crypto';
import { defineConfig } from 'vite';

/** `</script` or `<!--` inside an inlined script would end or derail the element; `<\/` means `</` in every JavaScript context they can occur in. */
function inlineScript(code) {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/**
 * Replaces the page's script and stylesheet tags with their bundled contents, drops those files from
 * the output, and allows exactly that script in the page's CSP (its SHA-256 for 'unsafe-inline').
 */
function singleFile() {
  return {
    name: 'stackhog-single-file',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const page = bundle['index.html'];
      if (!page || page.type !== 'asset') throw new Error('single-file build: no index.html in the bundle');
      let html = String(page.source);
      const inlined = new Set();
      html = html.replace(/<script type="module" crossorigin src="\.\/([^"]+)"><\/script>/g, (tag, file) => {
        const chunk = bundle[file];
        if (!chunk || chunk.type !== 'chunk') throw new Error(`single-file build: ${file} is not a script of the bundle`);
        inlined.add(file);
        return `<script type="module">${inlineScript(chunk.code)}</script>`;
      });
      html = html.replace(/<link rel="stylesheet" crossorigin href="\.\/([^"]+)">/g, (tag, file) => {
        const asset = bundle[file];
        if (!asset || asset.type !== 'asset') throw new Error(`single-file build: ${file} is not a stylesheet of the bundle`);
        inlined.add(file);
        return `<style>${String(asset.source).replace(/<\/(style)/gi, '<\\/$1')}</style>`;
      });
      const scripts = [...html.matchAll(/<script type="module">([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      if (scripts.length !== 1) throw new Error(`single-file build: ${scripts.length} inline scripts, expected the page's one`);
      const hash = `'sha256-${createHash('sha256').update(scripts[0]).digest('base64')}'`;
      const csp = "script-src 'unsafe-inline';";
      if (!html.includes(csp)) throw new Error(`single-file build: the page's CSP has no "${csp}" to put the script's hash in`);
      html = html.replace(csp, `script-src ${hash};`);
      for (const file of inlined) delete bundle[file];
      const left = Object.keys(bundle).filter((f) => f !== 'index.html');
      if (left.length > 0) throw new Error(`single-file build: not inlined: ${left.join(', ')}`);
      page.source = html;
    },
  };
}

export default defineConfig({
  root: 'src/web',
  base: './',
  logLevel: 'warn',
  plugins: [singleFile()],
  worker: { format: 'iife' },
  build: {
    outDir: '../../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    cssCodeSplit: false,
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    reportCompressedSize: false,
  },
});
