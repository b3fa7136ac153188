// Windows kernel crash dumps (PAGEDU64 / PAGEDUMP): header, physical and virtual memory, the snapshot adapter.
export { readKernelDump } from './read-kernel-dump.js';
export { readDumpHeader, dumpTypeName } from './header.js';
export { KernelVirtualMemory, type PagingMode } from './virtual-memory.js';
