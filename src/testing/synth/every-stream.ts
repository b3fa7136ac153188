// Test support: a small dump with one of each stream the reader knows, and every kind of data the
// streams point to; for coverage the real dumps lack (hostile-input tests, fuzz seeds).
import { rsds, Stream, SynthMinidump } from './minidump.js';
import { x86Context } from './context.js';
import { StackBuilder } from './section.js';

export function everyStream(): SynthMinidump {
  const stack = new StackBuilder(0x0012f000, 4).words(0x0012f010, 0x00401234, 0, 0);
  return new SynthMinidump()
    .systemInfo({ cpu: 'x86', platform: 'windows', vendor: 'GenuineIntel' })
    .thread({ id: 1, context: x86Context({ eip: 0x401000, esp: 0x12f000, ebp: 0x12f008 }), stack })
    .thread({ id: 2, context: x86Context({ eip: 0x401100 }) })
    .module({ base: 0x400000, size: 0x10000, name: 'C:\\app.exe', timeDateStamp: 0x5a000000, version: [1, 2, 3, 4], codeView: rsds('5a9832e5-2872-41c1-838e-d98914e9b7ff', 1, 'app.pdb') })
    .unloadedModule({ base: 0x500000, size: 0x1000, name: 'gone.dll' })
    .memory(0x20000, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))
    .memory64(0x30000, new Uint8Array([9, 10, 11, 12]))
    .memoryInfo({ base: 0x20000, size: 0x1000, protect: 4 })
    .exception({ threadId: 1, code: 0xc0000005, address: 0x401000, parameters: [0n, 8n], context: x86Context({ eip: 0x401000, esp: 0x12f000 }) })
    .miscInfo({ processId: 42, createTime: 1_600_000_000 })
    .threadInfo({ id: 1, startAddress: 0x401000 })
    .threadName(1, 'main')
    .breakpadInfo({ dumpThreadId: 2, requestingThreadId: 1 })
    .crashpadInfo({ simpleAnnotations: { k: 'v' }, modules: [{ moduleIndex: 0, listAnnotations: ['a'] }] })
    .linuxText(Stream.LinuxCmdLine, 'app --flag');
}
