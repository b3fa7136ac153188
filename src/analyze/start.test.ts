import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OptionError } from '../io/errors.js';
import { checkStart, startForms } from './start.js';

test('a start takes the registers of its CPU: ebp,esp,eip on x86, rsp,rip on x64, either form on ARM64', () => {
  const pair = { stackPtr: 0x1000n, instructionPtr: 0x401000n };
  const triple = { basePtr: 0x1010n, ...pair };
  assert.deepEqual(checkStart(triple, 'x86'), triple);
  assert.deepEqual(checkStart(pair, 'amd64'), { basePtr: 0n, ...pair });
  assert.deepEqual(checkStart(pair, 'arm64'), { basePtr: 0n, ...pair });
  assert.deepEqual(checkStart(triple, 'arm64'), triple);
  assert.throws(() => checkStart(pair, 'x86'), (e: unknown) => e instanceof OptionError && e.option === 'start' && /ebp,esp,eip/.test(e.reason));
  assert.throws(() => checkStart(triple, 'amd64'), (e: unknown) => e instanceof OptionError && /takes rsp,rip \(2 registers\), not 3/.test(e.reason));
  assert.deepEqual(startForms('arm64'), ['sp,pc', 'fp,sp,pc']);
});
