// Worker entry: fuzzes one target, or replays given inputs through it, under the supervisor's
// watch (runner.ts). A worker of its own per target lets the supervisor end a run that hangs.
import { parentPort, workerData } from 'node:worker_threads';
import { describeError, Engine, INPUT_OFFSET, signatureOf, SLOT_IN_EXEC, SLOT_LENGTH, SLOT_SEQUENCE, type EngineMessage, type EngineOptions } from './engine.js';
import { isExpectedError, TARGETS, type TargetName } from './targets.js';

export type WorkerData =
  | { readonly mode: 'fuzz'; readonly options: EngineOptions }
  | { readonly mode: 'replay'; readonly target: TargetName; readonly inputs: readonly Uint8Array[] };

export type ReplayMessage =
  | { readonly type: 'ready'; readonly shared: SharedArrayBuffer }
  | {
      readonly type: 'result';
      readonly index: number;
      /** 'ok': finished, or threw FormatError (then `message` says what). */
      readonly outcome: 'ok' | 'crash';
      readonly message: string | undefined;
      readonly stack: string | undefined;
      readonly signature: string | undefined;
      readonly ms: number;
    }
  | { readonly type: 'done' };

const port = parentPort;
if (!port) throw new Error('fuzz worker: not started as a worker');
const data = workerData as WorkerData;

/** The input in the shared buffer, when a rejection escapes a target (nothing awaited it). */
let current: () => Uint8Array = () => new Uint8Array(0);
process.on('unhandledRejection', (reason) => {
  if (isExpectedError(reason)) return;
  const message: EngineMessage = { type: 'finding', signature: `unhandled rejection: ${signatureOf(reason)}`, ...describeError(reason), input: current(), ms: 0 };
  port.postMessage(message);
});

if (data.mode === 'fuzz') {
  const engine = new Engine(data.options, (m) => port.postMessage(m));
  const slots = new Int32Array(engine.shared, 0, 4);
  current = () => new Uint8Array(engine.shared, INPUT_OFFSET, Atomics.load(slots, SLOT_LENGTH)).slice();
  port.postMessage({ type: 'ready', shared: engine.shared } satisfies EngineMessage);
  const stats = await engine.run();
  port.postMessage({ type: 'done', stats } satisfies EngineMessage);
} else {
  const target = TARGETS[data.target];
  const largest = data.inputs.reduce((n, i) => Math.max(n, i.length), 0);
  const shared = new SharedArrayBuffer(INPUT_OFFSET + largest);
  const slots = new Int32Array(shared, 0, 4);
  const input = new Uint8Array(shared, INPUT_OFFSET);
  current = () => input.slice(0, Atomics.load(slots, SLOT_LENGTH));
  port.postMessage({ type: 'ready', shared } satisfies ReplayMessage);
  for (const [index, bytes] of data.inputs.entries()) {
    input.set(bytes);
    Atomics.store(slots, SLOT_LENGTH, bytes.length);
    Atomics.add(slots, SLOT_SEQUENCE, 1);
    Atomics.store(slots, SLOT_IN_EXEC, 1);
    const start = performance.now();
    let result: ReplayMessage;
    try {
      await target.run(bytes);
      result = { type: 'result', index, outcome: 'ok', message: undefined, stack: undefined, signature: undefined, ms: performance.now() - start };
    } catch (error) {
      const { message, stack } = describeError(error);
      const outcome = isExpectedError(error) ? 'ok' : 'crash';
      result = { type: 'result', index, outcome, message, stack, signature: signatureOf(error), ms: performance.now() - start };
    }
    Atomics.store(slots, SLOT_IN_EXEC, 0);
    port.postMessage(result);
  }
  port.postMessage({ type: 'done' } satisfies ReplayMessage);
}
