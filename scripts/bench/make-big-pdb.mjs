#!/usr/bin/env node
// Builds a large real PDB for the PDB benchmark: generated C++ (many functions, each with locals,
// branches and a struct type of its own) compiled by Debian's clang for x86_64-pc-windows-msvc with
// CodeView debug info, linked by lld-link /DEBUG. Needs the clang and lld packages.
//   node scripts/bench/make-big-pdb.mjs [--out DIR] [--files N] [--functions N] [--lines N] [--jobs N]
// Defaults (60 files × 1000 functions × 20 statements) give a PDB of about 110 MB in DIR/big.pdb
// (default $TMPDIR/stackhog-bench/big-pdb), with big.exe beside it. Nothing is committed.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const out = opt('out', join(tmpdir(), 'stackhog-bench', 'big-pdb'));
const files = Number(opt('files', 60));
const functions = Number(opt('functions', 1000));
const lines = Number(opt('lines', 20));
const jobs = Number(opt('jobs', 2));
const src = join(out, 'src');
mkdirSync(src, { recursive: true });

const units = [];
for (let f = 0; f < files; f++) {
  let text = `namespace big${f} {\n`;
  for (let k = 0; k < functions; k++) {
    text += `struct T${k} { int f0; long long f1; double f2; char name[${(k % 13) + 3}]; };\n`;
    text += `__declspec(noinline) int function_with_a_long_descriptive_name_${f}_${k}(int x, T${k}* t) {\n`;
    for (let l = 0; l < lines; l++) text += `  int v${l} = x * ${l} + t->f0;\n  if (v${l} > ${l * 3}) x ^= v${l};\n`;
    text += '  return x; }\n';
  }
  text += `}\nint run${f}(int x) { big${f}::T0 t{}; return big${f}::function_with_a_long_descriptive_name_${f}_0(x, &t); }\n`;
  writeFileSync(join(src, `m${f}.cpp`), text);
  units.push(`m${f}`);
}
let main = '';
for (let f = 0; f < files; f++) main += `int run${f}(int);\n`;
main += 'extern "C" void* memset(void* d, int c, unsigned long long n) { char* p = (char*)d; while (n--) *p++ = (char)c; return d; }\n';
main += 'extern "C" int mainCRTStartup() { int t = 0;\n';
for (let f = 0; f < files; f++) main += `  t += run${f}(t);\n`;
main += '  return t; }\n';
writeFileSync(join(src, 'main.cpp'), main);
units.push('main');

const compile = (unit) =>
  new Promise((resolve, reject) => {
    const p = spawn('clang', ['--target=x86_64-pc-windows-msvc', '-O0', '-g', '-gcodeview', '-c', join(src, `${unit}.cpp`), '-o', join(src, `${unit}.obj`)], { stdio: 'inherit' });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`clang ${unit}: exit ${code}`))));
  });
const queue = [...units];
await Promise.all(
  Array.from({ length: jobs }, async () => {
    while (queue.length > 0) await compile(queue.shift());
  }),
);
execFileSync('lld-link', ['/DEBUG', '/NODEFAULTLIB', '/ENTRY:mainCRTStartup', '/SUBSYSTEM:CONSOLE', `/OUT:${join(out, 'big.exe')}`, `/PDB:${join(out, 'big.pdb')}`, ...units.map((u) => join(src, `${u}.obj`))], { stdio: 'inherit' });
console.log(`${join(out, 'big.pdb')}: ${(statSync(join(out, 'big.pdb')).size / 1048576).toFixed(1)} MiB, ${files * functions} generated functions`);
