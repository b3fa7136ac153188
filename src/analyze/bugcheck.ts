/**
 * Windows bug check (stop code) knowledge: names for the public list, and for the codes driver engineers
 * meet most often, what each parameter means, what happened in plain words, and what to fix.
 *
 * Facts follow Microsoft's "Bug check code reference" pages (MicrosoftDocs/windows-driver-docs,
 * windows-driver-docs-pr/debugger/bug-check-0x*.md, November 2025); the prose and advice are our own.
 * Pure data and pure functions: no Node imports, so it runs in the browser and in workers.
 */
import { BUGCHECK_NAMES } from './bugcheck-names.js';
import { NTSTATUS_NAMES } from './crash-reason-ntstatus.js';
import { BUGCHECK_M_FLAG, baseBugcheckCode, bugcheckStatePointers } from '../model/bugcheck-state.js';

export interface BugcheckParameterMeaning {
  readonly name: string;
  readonly text: string;
}

export interface BugcheckExplanation {
  readonly code: number;
  /** `UNKNOWN_BUGCHECK_0x...` when the code is not in the public list. */
  readonly name: string;
  /** Always four entries, each decoded in words with the actual value. */
  readonly parameters: readonly { readonly value: bigint; readonly name: string; readonly meaning: string }[];
  readonly explanation: string;
  readonly guidance: string | undefined;
  /** Where the parameters point at saved CPU state to walk from, as WinDbg's .cxr/.trap/.exr would use. */
  readonly pointers: readonly {
    readonly kind: 'exception_record' | 'context_record' | 'trap_frame';
    readonly parameter: 1 | 2 | 3 | 4;
    readonly address: bigint;
  }[];
  /** True for stack-overflow cases (0x7F with P1 = 8 double fault, 0x2B PANIC_STACK_SWITCH, STATUS_STACK_OVERFLOW). */
  readonly stackOverflowLikely: boolean;
}

type Params4 = readonly [bigint, bigint, bigint, bigint];

interface Ctx {
  readonly code: number;
  readonly name: string;
  /** Parameters masked to the pointer width. */
  readonly p: Params4;
  readonly width: 4 | 8;
  /** P1 in words, for codes whose meaning depends on P1 (from the subtype table). */
  readonly cause: string | undefined;
}

/** A parameter's role (`name`, `text`) and how its value reads in words; without `decode`, `text: 0x...`. */
interface ParamSpec extends BugcheckParameterMeaning {
  readonly decode?: (value: bigint, ctx: Ctx) => string;
}
type ParamSpecs = readonly [ParamSpec, ParamSpec, ParamSpec, ParamSpec];

interface Spec {
  readonly params: ParamSpecs | ((ctx: Ctx) => ParamSpecs);
  readonly explain: (ctx: Ctx) => string;
  readonly guidance?: (ctx: Ctx) => string | undefined;
  readonly stackOverflow?: (ctx: Ctx) => boolean;
}


// ---------------------------------------------------------------------------------------------------
// Value formatting

const hex = (v: bigint): string => `0x${v.toString(16)}`;
const codeHex = (code: number): string => `0x${code.toString(16).toUpperCase()}`;

/** Parameters are ULONG_PTR: 32 bits on x86 and ARM32 dumps, 64 on x64 and ARM64 (sign-extended there). */
function maskToWidth(v: bigint, width: 4 | 8): bigint {
  return BigInt.asUintN(width * 8, v);
}

/** Exception codes outside ntstatus's error class, which crash-reason-ntstatus.ts deliberately leaves out. */
const EXCEPTION_STATUS_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0x80000001, 'STATUS_GUARD_PAGE_VIOLATION'],
  [0x80000002, 'STATUS_DATATYPE_MISALIGNMENT'],
  [0x80000003, 'STATUS_BREAKPOINT'],
  [0x80000004, 'STATUS_SINGLE_STEP'],
  [0x80000026, 'STATUS_LONGJUMP'],
  [0x80000029, 'STATUS_UNWIND_CONSOLIDATE'],
]);

/** Plain words for the exception codes that bug checks 0x1E/0x3B/0x7E/0x8E carry most often. */
const EXCEPTION_WORDS: ReadonlyMap<number, string> = new Map<number, string>([
  [0xc0000005, 'an access violation: the code used an address it may not read, write or execute'],
  [0x80000003, 'a breakpoint (int 3, __debugbreak or an ASSERT) hit with no kernel debugger attached'],
  [0x80000002, 'a misaligned data reference'],
  [0x80000004, 'a single-step trap with no debugger to take it'],
  [0xc000001d, 'an illegal instruction: the CPU could not decode what it was asked to run'],
  [0xc0000096, 'a privileged instruction the CPU refused to execute'],
  [0xc0000094, 'an integer division by zero'],
  [0xc0000095, 'an integer overflow'],
  [0xc000008c, 'an array bounds check failure'],
  [0xc0000006, 'an in-page error: a page could not be brought in from disk'],
  [0xc00000fd, 'a stack overflow'],
  [0xc0000409, 'a stack buffer overrun or fast-fail security check (/GS cookie, __fastfail)'],
  [0xc0000420, 'an assertion failure'],
  [0xc0000374, 'a heap corruption'],
]);

/** An NTSTATUS carried in a ULONG_PTR: the low 32 bits, when the upper half (x64) is a zero or sign extension. */
function statusOf(v: bigint, width: 4 | 8): number | undefined {
  const low = Number(v & 0xffffffffn);
  if (width === 4) return low;
  const high = (v >> 32n) & 0xffffffffn;
  return high === 0n || high === 0xffffffffn ? low : undefined;
}

function statusName(status: number): string | undefined {
  return NTSTATUS_NAMES.get(status) ?? EXCEPTION_STATUS_NAMES.get(status);
}

function statusText(v: bigint, width: 4 | 8): string {
  const status = statusOf(v, width);
  if (status === undefined) return `${hex(v)} (not an NTSTATUS value)`;
  const name = statusName(status);
  return `0x${status.toString(16).padStart(8, '0')}${name === undefined ? '' : ` (${name})`}`;
}

/** "exception 0xc0000005 (STATUS_ACCESS_VIOLATION, an access violation: ...)" for the explanation text. */
function exceptionPhrase(v: bigint, width: 4 | 8): string {
  const status = statusOf(v, width);
  if (status === undefined) return `exception ${hex(v)}`;
  const name = statusName(status);
  const words = EXCEPTION_WORDS.get(status);
  const inner = [name, words].filter((s): s is string => s !== undefined).join(', ');
  return `exception 0x${status.toString(16).padStart(8, '0')}${inner === '' ? '' : ` (${inner})`}`;
}

// IRQL values: wdm.h. x64, ARM and ARM64 share 13 CLOCK, 14 IPI/POWER, 15 PROFILE/HIGH, SYNCH = IPI - 2;
// x86 has 27 PROFILE, 28 CLOCK2, 29 IPI, 30 POWER, 31 HIGH. A 32-bit dump may be x86 or ARM32, so for
// width 4 the levels between DISPATCH_LEVEL and 27 are only "device IRQL or above".
function irqlName(v: bigint, width: 4 | 8): string {
  if (v === 0n) return 'PASSIVE_LEVEL';
  if (v === 1n) return 'APC_LEVEL';
  if (v === 2n) return 'DISPATCH_LEVEL';
  if (width === 8) {
    if (v <= 11n) return 'a device IRQL (DIRQL)';
    if (v === 12n) return 'SYNCH_LEVEL, or a device IRQL';
    if (v === 13n) return 'CLOCK_LEVEL';
    if (v === 14n) return 'IPI_LEVEL / POWER_LEVEL';
    if (v === 15n) return 'HIGH_LEVEL / PROFILE_LEVEL';
    return 'not a valid IRQL on x64 or ARM64';
  }
  if (v <= 26n) return 'DIRQL or above: a device IRQL on x86; on 32-bit ARM 13 is CLOCK_LEVEL and 15 HIGH_LEVEL';
  if (v === 27n) return 'PROFILE_LEVEL, or SYNCH_LEVEL on x86 multiprocessors';
  if (v === 28n) return 'CLOCK2_LEVEL';
  if (v === 29n) return 'IPI_LEVEL';
  if (v === 30n) return 'POWER_LEVEL';
  if (v === 31n) return 'HIGH_LEVEL';
  return 'not a valid IRQL on x86';
}

const irqlText = (v: bigint, width: 4 | 8): string => `IRQL ${v.toString()} (${irqlName(v, width)})`;

// ---------------------------------------------------------------------------------------------------
// Parameter building blocks

const param = (name: string, text: string, decode?: (v: bigint, c: Ctx) => string): ParamSpec =>
  decode === undefined ? { name, text } : { name, text, decode };

const RESERVED: ParamSpec = param('Reserved', 'reserved', (v) => (v === 0n ? '0 (reserved)' : `${hex(v)} (reserved)`));
const NOT_USED: ParamSpec = param('Not used', 'not used', (v) => (v === 0n ? '0 (not used)' : `${hex(v)} (not used)`));

const address = (name: string, text: string): ParamSpec =>
  param(name, text, (v) => (v === 0n ? `${text}: 0 (none)` : `${text} ${hex(v)}`));
const count = (name: string, text: string, unit?: string): ParamSpec =>
  param(name, text, (v) => `${text}: ${v.toString()}${unit === undefined ? '' : ` ${unit}`}`);
const value = (name: string, text: string): ParamSpec => param(name, text, (v) => `${text}: ${hex(v)}`);

const EXCEPTION_CODE = param('Exception code', 'the exception code that was not handled', (v, c) => `exception code ${statusText(v, c.width)}`);
const EXCEPTION_ADDRESS = address('Exception address', 'the address of the instruction that raised the exception');
const IRQL = param('IRQL', 'the IRQL at the time of the reference', (v, c) => irqlText(v, c.width));
const MEMORY_REFERENCED = address('Memory referenced', 'the memory address that was referenced');
const REFERENCING_CODE = address('Referencing code', 'the address of the instruction that referenced the memory');
const CURRENT_IRQL = param('Current IRQL', 'the IRQL the caller was running at', (v, c) => irqlText(v, c.width));

function accessWord(v: bigint, table: ReadonlyMap<bigint, string>): string {
  return table.get(v) ?? `access code ${hex(v)} (not a documented value)`;
}

// 0xA: bit 0 write, bit 3 execute. 0xD1: 0 read, 1 write, 2 or 8 execute. 0xC5: 0 read, 1 write.
const ACCESS_0A = new Map<bigint, string>([[0n, 'read'], [1n, 'write'], [8n, 'execute'], [9n, 'execute']]);
const ACCESS_D1 = new Map<bigint, string>([[0n, 'read'], [1n, 'write'], [2n, 'execute'], [8n, 'execute']]);
const ACCESS_C5 = new Map<bigint, string>([[0n, 'read'], [1n, 'write']]);
// 0x50 P2 since Windows 10 1507: x86/x64 0 read, 2 write, 0x10 execute; ARM 0 read, 1 write, 8 execute; before 1507 1 = write.
const ACCESS_50 = new Map<bigint, string>([
  [0n, 'read'],
  [1n, 'write (ARM, or Windows before 10 1507)'],
  [2n, 'write'],
  [8n, 'execute (ARM)'],
  [0x10n, 'execute'],
]);

const accessParam = (table: ReadonlyMap<bigint, string>): ParamSpec =>
  param('Access', 'the kind of access: read, write or execute', (v) => accessWord(v, table));

/** The verb for an access value, for the explanation text. */
function accessVerb(v: bigint, table: ReadonlyMap<bigint, string>): string {
  const word = table.get(v);
  if (word === undefined) return 'accessed';
  if (word.startsWith('write')) return 'wrote to';
  if (word.startsWith('execute')) return 'tried to execute code at';
  return 'read from';
}

/** P1 of a bug check whose other parameters depend on it; `cause` is the plain-words reading of P1. */
interface Subtype {
  readonly cause: string;
  readonly p2?: ParamSpec;
  readonly p3?: ParamSpec;
  readonly p4?: ParamSpec;
}

function subtypeParams(
  p1Name: string,
  table: ReadonlyMap<number, Subtype>,
  fallback: readonly [ParamSpec, ParamSpec, ParamSpec] = [RESERVED, RESERVED, RESERVED],
): (ctx: Ctx) => ParamSpecs {
  return (ctx) => {
    const sub = subtype(table, ctx.p[0]);
    const p1: ParamSpec = param(p1Name, `the ${p1Name.toLowerCase()}`, (v) =>
      sub === undefined ? `${hex(v)} (not a value stackhog knows)` : `${hex(v)}: ${sub.cause}`,
    );
    return [p1, sub?.p2 ?? fallback[0], sub?.p3 ?? fallback[1], sub?.p4 ?? fallback[2]];
  };
}

function subtype(table: ReadonlyMap<number, Subtype>, p1: bigint): Subtype | undefined {
  return p1 <= 0xffffffffn ? table.get(Number(p1)) : undefined;
}

/** Several P1 values sharing one description. */
function sub(codes: readonly number[], s: Subtype): [number, Subtype][] {
  return codes.map((c) => [c, s]);
}

// ---------------------------------------------------------------------------------------------------
// Shared advice

/** The fix list of a kernel EDR that hung and crashed through IRQL mistakes (issue 10's driver seed). */
const RAISED_IRQL_FIX =
  'Pageable memory or pageable code was touched at DISPATCH_LEVEL or above (the IRQL is P2). ' +
  'Allocate everything that is touched at raised IRQL from non-paged pool (NonPagedPoolNx, or POOL_FLAG_NON_PAGED with ExAllocatePool2), ' +
  'keep code that runs there out of PAGE sections (no #pragma alloc_text(PAGE, ...) or PAGED_CODE() on it, nothing it calls either), ' +
  'or defer the work to PASSIVE_LEVEL with a work item (IoQueueWorkItem / ExQueueWorkItem). ' +
  'A DPC runs at DISPATCH_LEVEL itself, so moving the work into a DPC does not help. ' +
  'Also check that every spin lock is released on every path: code that forgets one keeps running at DISPATCH_LEVEL.';

function pointerHint(addr: bigint): string {
  if (addr < 0x1000n) return ` P1 is below 0x1000, so this is most likely a NULL-pointer dereference (a field of a NULL structure pointer).`;
  return '';
}

function exceptionGuidance(v: bigint, width: 4 | 8): string {
  const status = statusOf(v, width);
  switch (status) {
    case 0xc0000005:
      return 'An access violation in kernel mode is a bad pointer: NULL, freed (use after free), uninitialised, or a user-mode address used without probing. Name the driver that contains the exception address, then read the stack from the saved context. Driver Verifier with special pool catches use-after-free and overruns where they happen.';
    case 0x80000003:
      return 'A hard-coded breakpoint or ASSERT (DbgBreakPoint, __debugbreak, NT_ASSERT) ran on a system booted without a kernel debugger. Remove it from release builds, or attach a debugger (bcdedit /debug on) when testing debug builds.';
    case 0x80000002:
      return 'A misaligned access: the saved trap frame or context shows the instruction. Align the structure (or use UNALIGNED / ReadUnaligned helpers) on the architecture that faulted.';
    case 0xc000001d:
    case 0xc0000096:
      return 'The CPU was sent to code that is not valid instructions (a corrupted function pointer or return address, a stack overwrite, or code paged out and replaced), or the code used an instruction the CPU or privilege level does not allow. Check the exception address against the driver images.';
    case 0xc0000094:
    case 0xc0000095:
      return 'Guard the division (or the arithmetic) against a zero or out-of-range divisor that comes from data or hardware.';
    case 0xc0000006:
      return 'A page of code or data could not be read back from disk: look at the storage stack and the disk (and at the paging file) before the driver on the stack.';
    case 0xc00000fd:
      return 'A kernel stack overflowed: see who used the stack (deep recursion, large locals, stacked filter drivers).';
    case 0xc0000409:
      return 'A /GS stack cookie or a fast-fail check failed: a local buffer was written past its end in the function that returned, or a security check found corrupted data.';
    default:
      return 'Name the driver that contains the exception address and read the stack from the saved CPU state; the exception code says what kind of fault it was.';
  }
}

// ---------------------------------------------------------------------------------------------------
// The detailed table

const SPECS: ReadonlyMap<number, Spec> = new Map<number, Spec>([
  // bug-check-0xa--irql-not-less-or-equal.md: P1 address, P2 IRQL, P3 bit 0 write / bit 3 execute, P4 instruction pointer.
  [
    0x0a,
    {
      params: [
        MEMORY_REFERENCED,
        param('IRQL', 'the IRQL at the time of the fault', (v, c) => irqlText(v, c.width)),
        accessParam(ACCESS_0A),
        address('Instruction pointer', 'the instruction pointer at the time of the fault'),
      ],
      explain: (c) =>
        `Code at ${hex(c.p[3])} (P4) ${accessVerb(c.p[2], ACCESS_0A)} ${hex(c.p[0])} (P1) at ${irqlText(c.p[1], c.width)}, ` +
        `and that address was pageable or not valid: at that IRQL the memory manager cannot bring a page in, so Windows stopped.` +
        pointerHint(c.p[0]),
      guidance: () => RAISED_IRQL_FIX,
    },
  ],
  // bug-check-0x19--bad-pool-header.md: P1 selects the violation; P2–P4 depend on it.
  [
    0x19,
    {
      params: subtypeParams(
        'Violation type',
        new Map<number, Subtype>([
          [0x2, { cause: 'the special pool pattern check failed; the owner probably wrote past its block', p2: address('Pool entry', 'the pool entry being checked'), p3: count('Block size', 'the size of the pool block', 'bytes'), p4: NOT_USED }],
          [0x3, { cause: 'the pool free list is corrupt (P2, P3 and P4 should all be equal in a healthy list)', p2: address('Pool entry', 'the pool entry being checked'), p3: value('Flink', 'the free-list Flink read back'), p4: value('Blink', 'the free-list Blink read back') }],
          [0x5, { cause: 'two adjacent pool entries have headers that contradict each other; at least one is corrupt', p2: address('Pool entry', 'one of the pool entries'), p3: RESERVED, p4: address('Other pool entry', 'the other pool entry') }],
          [0x6, { cause: "a pool block header's previous-size field is too large", p2: address('Pool entry', 'the entry whose size was computed wrongly'), p3: RESERVED, p4: address('Bad entry', 'the entry that caused the miscalculation') }],
          [0x7, { cause: 'a pool block header size is corrupt', p2: NOT_USED, p3: RESERVED, p4: address('Bad entry', 'the bad pool entry') }],
          [0x8, { cause: 'a pool block header size is zero', p2: NOT_USED, p3: RESERVED, p4: address('Bad entry', 'the bad pool entry') }],
          [0x9, { cause: 'a pool block header size is corrupt (too large)', p2: address('Pool entry', 'the entry whose size was computed wrongly'), p3: RESERVED, p4: address('Bad entry', 'the entry that caused the miscalculation') }],
          [0xa, { cause: 'a pool block header size is corrupt', p2: address('Pool entry', 'the pool entry that should have been found'), p3: RESERVED, p4: address('Page', 'the page that should have held the pool entry') }],
          ...sub([0xd, 0xe, 0xf, 0x23, 0x24, 0x25], { cause: 'the header of a freed pool block was modified after it was freed, usually by an overrun of the block before it' }),
          [0x20, { cause: 'a pool block header size is corrupt', p2: address('Pool entry', 'the pool entry that should have been found'), p3: address('Next entry', 'the next pool entry'), p4: RESERVED }],
          [0x21, { cause: 'the data after the pool block being freed is corrupt: the owner overran the block', p2: address('Pool block', 'the pool block being freed'), p3: count('Size', 'the bytes allocated for the block', 'bytes'), p4: value('Corrupted value', 'the corrupted value found after the block') }],
          [0x22, { cause: 'the address being freed has no tracking entry: a double free, or a free of something never allocated', p2: address('Address', 'the address being freed'), p3: RESERVED, p4: RESERVED }],
        ]),
      ),
      explain: (c) =>
        `The pool allocator found a corrupt pool header (violation ${hex(c.p[0])}). The pool was already damaged when this request looked at it, ` +
        `so the code on the stack is often the victim, not the culprit.`,
      guidance: () =>
        'Catch the corruption when it happens rather than when it is found: enable Driver Verifier with Special Pool and Pool Tracking for the suspect drivers ' +
        '(verifier /flags 0x9 /driver name.sys), reproduce, and the next crash points at the overrun or use after free. Check buffer lengths against allocation sizes and that nothing is used after ExFreePool.',
    },
  ],
  // bug-check-0x1a--memory-management.md: P1 identifies the violation; no pointers to CPU state.
  [
    0x1a,
    {
      params: subtypeParams(
        'Violation type',
        new Map<number, Subtype>([
          [0x31, { cause: 'an image relocation table or code stream is corrupt, probably a hardware error' }],
          [0x3f, { cause: 'an in-page read failed its CRC check', p2: value('Page file offset', 'the page file offset'), p3: value('Page CRC', 'the CRC of the page'), p4: value('Expected CRC', 'the CRC expected') }],
          [0x403, { cause: 'page table and page frame numbers are out of sync, probably hardware when P3 and P4 differ by one bit', p2: RESERVED, p3: value('Value', 'one of the two values'), p4: value('Value', 'the other value') }],
          [0x404, { cause: 'deleting a system page found the PFN and the PTE pointer inconsistent', p2: value('Expected PTE', 'the expected PTE'), p3: value('PTE contents', 'the PTE contents'), p4: value("PFN's PTE", "the PFN's PTE") }],
          [0x411, { cause: 'a PTE is corrupt', p2: address('PTE', 'the address of the PTE') }],
          [0x1010, { cause: 'a pageable section that is not locked is being unlocked (never locked, or unlocked twice)' }],
          [0x1233, { cause: 'a driver mapped a physical page that was not locked', p2: value('PFN', 'the page frame number it tried to map') }],
          [0x1234, { cause: 'a driver tried to lock a pageable section that does not exist' }],
          [0x1235, { cause: 'an MDL with an invalid mapping is being protected' }],
          [0x1236, { cause: 'an MDL holds an unlocked or invalid physical page', p2: address('MDL', 'the MDL'), p3: address('PFN pointer', 'the pointer to the invalid PFN'), p4: value('PFN', 'the invalid PFN') }],
          [0x1240, { cause: 'an MDL was built for a virtual range that is not resident', p2: address('MDL', 'the MDL'), p3: address('PTE pointer', 'the PTE pointer') }],
          [0x3300, { cause: 'a written address was wrongly marked copy-on-write', p2: address('Faulting address', 'the faulting address'), p3: value('PTE contents', 'the PTE contents'), p4: value('Address space type', 'the address space type') }],
          [0x3451, { cause: 'the PTEs of a swapped-out kernel stack are corrupt' }],
          [0x3470, { cause: 'a cached kernel stack was corrupted while on the free list', p2: address('Address', 'the virtual address'), p3: value('Cookie', 'the virtual address cookie') }],
          [0x4477, { cause: 'a driver wrote to an unallocated user-space address of the system process', p2: address('Address', 'the address written') }],
          [0x5100, { cause: 'the allocation bitmap is corrupt' }],
          [0x5305, { cause: 'an invalid pool address is being freed', p2: address('Address', 'the address being freed'), p3: count('Region size', 'the region size') }],
          ...sub([0x8886, 0x8887, 0x8884, 0x8885], { cause: 'two standby-list pages that should share a page priority do not', p4: value('Priorities', 'the differing values') }),
          ...sub([0x8888, 0x8889, 0x888a], { cause: 'internal memory manager structures (PTE or PFN) are corrupt' }),
          [0x9696, { cause: 'a PFN has a corrupted link to its process', p2: value('PFN', 'the PFN') }],
          [0x41201, { cause: 'querying an address found the PFN and PTE inconsistent', p2: address('PTE', 'the PTE'), p3: value('PTE contents', 'the PTE contents'), p4: address('VAD', 'the virtual address descriptor') }],
          [0x41202, { cause: 'a PTE was found corrupt while determining page protection', p2: address('PTE', 'the PTE pointer'), p3: value('PTE contents', 'the PTE contents'), p4: address('VAD', 'the virtual address descriptor') }],
          [0x41284, { cause: 'a PTE or the working set list is corrupt' }],
          [0x41286, { cause: 'an invalid pool address is being freed' }],
          [0x41287, { cause: 'an illegal page fault happened while holding working-set synchronization', p2: address('Address', 'the address referenced') }],
          [0x41785, { cause: 'the working set list is corrupt' }],
          [0x41790, { cause: 'a page table page is corrupt', p2: value('PFN or count', 'the PFN of the page table page (64-bit) or the used-PTE count pointer (32-bit)') }],
          [0x41792, { cause: 'a corrupt PTE was found', p2: address('PTE', 'the address of the PTE'), p3: value('PTE low', 'the low part of the PTE'), p4: value('PTE high', 'the high part of the PTE') }],
          [0x61940, { cause: 'a PDE was unexpectedly invalidated' }],
          [0x61941, { cause: 'the paging hierarchy is corrupt', p2: address('Address', 'the address that faulted') }],
          [0x61946, { cause: 'a flawed MDL is being created, nearly always by the driver calling MmProbeAndLockPages (e.g. a write MDL for a paging read)' }],
        ]),
        [value('Parameter 2', 'parameter 2'), value('Parameter 3', 'parameter 3'), value('Parameter 4', 'parameter 4')],
      ),
      explain: (c) => {
        const s = c.cause;
        return `The memory manager found its own structures inconsistent (type ${hex(c.p[0])}${s === undefined ? '' : `: ${s}`}).`;
      },
      guidance: () =>
        'When values in the parameters differ by a single bit, suspect the RAM first (Windows Memory Diagnostic). Otherwise a driver damaged memory-manager state: ' +
        'MDLs locked or unlocked twice, pages mapped without locking, writes through stale pointers. Run Driver Verifier on the drivers that touch MDLs and physical memory.',
    },
  ],
  // bug-check-0x1e--kmode-exception-not-handled.md: P3/P4 are ExceptionInformation[0]/[1], not pointers to state.
  [
    0x1e,
    {
      params: (c) => {
        const status = statusOf(c.p[0], c.width);
        const accessLike = status === 0xc0000005 || status === 0xc0000006;
        return [
          EXCEPTION_CODE,
          EXCEPTION_ADDRESS,
          accessLike
            ? param('Access', 'exception parameter 0: read, write or execute', (v) => accessWord(v, new Map([[0n, 'read'], [1n, 'write'], [8n, 'execute (DEP)']])))
            : value('Exception parameter 0', 'exception parameter 0'),
          accessLike
            ? address('Address accessed', 'the address the code tried to access')
            : value('Exception parameter 1', 'exception parameter 1'),
        ];
      },
      explain: (c) => {
        const status = statusOf(c.p[0], c.width);
        const av = status === 0xc0000005 || status === 0xc0000006;
        const what = av ? ` while trying to ${c.p[2] === 1n ? 'write to' : c.p[2] === 8n ? 'execute' : 'read'} ${hex(c.p[3])}` : '';
        return `Kernel-mode code at ${hex(c.p[1])} raised ${exceptionPhrase(c.p[0], c.width)}${what}, and no exception handler caught it.`;
      },
      guidance: (c) => exceptionGuidance(c.p[0], c.width),
      stackOverflow: (c) => statusOf(c.p[0], c.width) === 0xc00000fd,
    },
  ],
  // bug-check-0x2b--panic-stack-switch.md: P1 is the trap frame.
  [
    0x2b,
    {
      params: [address('Trap frame', 'the trap frame'), RESERVED, RESERVED, RESERVED],
      explain: (c) =>
        `The kernel switched to its panic stack because the thread's kernel stack was used up (or badly corrupted); the trap frame at ${hex(c.p[0])} (P1) holds the state at that moment. ` +
        `This is usually a kernel stack overflow caused by a driver using too much stack.`,
      guidance: () =>
        'Find who ate the stack: the frames with the largest sizes, recursion or re-entry, and how many filter drivers are stacked. ' +
        'Move large local buffers and structures to pool allocations, turn recursion into iteration, and for a deep path you cannot shorten call KeExpandKernelStackAndCallout.',
      stackOverflow: () => true,
    },
  ],
  // bug-check-0x3b--system-service-exception.md: P3 is the context record (.cxr), P4 is zero.
  [
    0x3b,
    {
      params: [
        param('Exception code', 'the exception that caused the bug check', (v, c) => `exception code ${statusText(v, c.width)}`),
        address('Exception address', 'the address of the instruction that caused the bug check'),
        address('Context record', 'the address of the context record for the exception'),
        NOT_USED,
      ],
      explain: (c) =>
        `While a system service was running (a call from user mode into the kernel), the code at ${hex(c.p[1])} raised ${exceptionPhrase(c.p[0], c.width)} and it was not handled. ` +
        `The context record at ${hex(c.p[2])} (P3) holds the CPU state at the fault; the stack that matters is the one it describes, as WinDbg's .cxr shows.`,
      guidance: (c) =>
        `${exceptionGuidance(c.p[0], c.width)} In a system service path, check that user-supplied buffers and pointers are probed (ProbeForRead / ProbeForWrite) and accessed inside __try/__except, and that IOCTL input lengths are validated.`,
      stackOverflow: (c) => statusOf(c.p[0], c.width) === 0xc00000fd,
    },
  ],
  // bug-check-0x50--page-fault-in-nonpaged-area.md: P3 is the faulting instruction when known, not saved state.
  [
    0x50,
    {
      params: [
        MEMORY_REFERENCED,
        param('Operation', 'the operation: read, write or execute', (v) => accessWord(v, ACCESS_50)),
        address('Referencing code', 'the address of the instruction that referenced the memory (0 when not known)'),
        param('Fault type', 'the type of page fault (Windows 10 RS and later)', (v) => PAGE_FAULT_TYPES.get(v) ?? `${hex(v)} (not a documented fault type)`),
      ],
      explain: (c) => {
        const who = c.p[2] === 0n ? 'Kernel-mode code' : `The code at ${hex(c.p[2])} (P3)`;
        const type = PAGE_FAULT_TYPES.get(c.p[3]);
        return `${who} ${accessVerb(c.p[1], ACCESS_50)} ${hex(c.p[0])} (P1), an address with no valid page behind it${type === undefined ? '' : ` (${type})`}.`;
      },
      guidance: () =>
        'This is almost always a bad pointer: memory used after it was freed, an uninitialised or corrupted pointer, a pointer into a driver that was unloaded, or a kernel access to a user address. ' +
        'Name the driver that contains the referencing code (P3), then check the lifetime of the object at P1. Driver Verifier with special pool catches use after free at the moment it happens.',
    },
  ],
  // bug-check-0x7e--system-thread-exception-not-handled.md: P3 exception record (.exr), P4 context record (.cxr).
  [
    0x7e,
    {
      params: [
        EXCEPTION_CODE,
        EXCEPTION_ADDRESS,
        address('Exception record', 'the address of the exception record'),
        address('Context record', 'the address of the context record'),
      ],
      explain: (c) =>
        `A kernel-mode system thread raised ${exceptionPhrase(c.p[0], c.width)} at ${hex(c.p[1])} (P2), and no handler caught it. ` +
        `The exception record (P3) and context record (P4) hold the CPU state at the fault; the stack that matters is the one the context record describes, as WinDbg's .cxr shows.`,
      guidance: (c) => exceptionGuidance(c.p[0], c.width),
      stackOverflow: (c) => statusOf(c.p[0], c.width) === 0xc00000fd,
    },
  ],
  // bug-check-0x7f--unexpected-kernel-mode-trap.md: P1 is the trap number; P2–P4 are not documented.
  [
    0x7f,
    {
      params: [
        param('Trap number', 'the trap (processor exception vector) the kernel did not expect', (v) => trapText(v)),
        value('Parameter 2', 'not documented'),
        value('Parameter 3', 'not documented'),
        value('Parameter 4', 'not documented'),
      ],
      explain: (c) => {
        if (c.p[0] === 8n) {
          return 'The CPU raised a double fault (trap 8): a second fault happened while it was delivering the first. ' +
            'In the kernel this is usually a kernel stack overflow: the stack ran into its guard page and there was no room left to push the trap frame.';
        }
        return `The CPU raised trap ${hex(c.p[0])} (${trapText(c.p[0])}) in kernel mode, a trap the kernel does not take there, so Windows stopped.`;
      },
      guidance: (c) =>
        c.p[0] === 8n
          ? 'Look at who used the kernel stack: the frames with the largest sizes, recursion or re-entry between drivers, stacked filter drivers. Move large locals to pool, break recursion, or use KeExpandKernelStackAndCallout for a deep path. If the stack was not full, suspect hardware (memory, overclocking).'
          : 'Faulty or mismatched hardware (memory above all, overclocking) causes most of these; otherwise a driver corrupted a function pointer, the stack or a segment/TSS. The trap frame on the stack (.trap) shows the faulting instruction.',
      stackOverflow: (c) => c.p[0] === 8n,
    },
  ],
  // bug-check-0x8e--kernel-mode-exception-not-handled.md: P3 is the trap frame (.trap), P4 reserved.
  [
    0x8e,
    {
      params: [EXCEPTION_CODE, EXCEPTION_ADDRESS, address('Trap frame', 'the trap frame'), RESERVED],
      explain: (c) =>
        `Kernel-mode code at ${hex(c.p[1])} raised ${exceptionPhrase(c.p[0], c.width)}, and no handler caught it. ` +
        `The trap frame at ${hex(c.p[2])} (P3) holds the CPU state at the fault, as WinDbg's .trap shows.`,
      guidance: (c) => exceptionGuidance(c.p[0], c.width),
      stackOverflow: (c) => statusOf(c.p[0], c.width) === 0xc00000fd,
    },
  ],
  // bug-check-0x9f--driver-power-state-failure.md
  [
    0x9f,
    {
      params: subtypeParams(
        'Violation type',
        new Map<number, Subtype>([
          [0x1, { cause: 'a device object being freed still has a power request it never completed', p2: address('Device object', 'the device object') }],
          [0x2, { cause: 'a device completed a system power IRP but did not call PoStartNextPowerIrp', p2: address('Target device', 'the target device object, if available'), p3: address('Device object', 'the device object'), p4: address('Driver object', 'the driver object, if available') }],
          [0x3, { cause: 'a device object has been blocking a power IRP for too long', p2: address('PDO', 'the physical device object of the stack'), p3: address('Triage block', 'the nt!_TRIAGE_9F_POWER block'), p4: address('IRP', 'the blocked IRP') }],
          [0x4, { cause: 'a power transition timed out waiting to synchronise with Plug and Play', p2: count('Timeout', 'the time-out', 'seconds'), p3: address('PnP lock holder', 'the thread holding the PnP lock'), p4: address('Triage block', 'the nt!_TRIAGE_9F_PNP block') }],
          [0x5, { cause: 'a device did not finish a directed power transition in time', p2: address('PDO', 'the physical device object of the stack'), p3: address('POP_FX_DEVICE', 'the POP_FX_DEVICE object'), p4: RESERVED }],
          [0x6, { cause: 'a device did not complete its directed power transition callback successfully', p2: address('POP_FX_DEVICE', 'the POP_FX_DEVICE object'), p3: param('Direction', 'power down (1) or power up (0)', (v) => (v === 1n ? 'directed power down' : v === 0n ? 'directed power up' : hex(v))), p4: RESERVED }],
          [0x500, { cause: 'a device completed a system power IRP but did not call PoStartNextPowerIrp', p2: RESERVED, p3: address('Target device', 'the target device object, if available'), p4: address('Device object', 'the device object') }],
        ]),
      ),
      explain: (c) => {
        const cause = c.cause;
        return `A driver failed to handle a power request correctly or in time (type ${hex(c.p[0])}${cause === undefined ? '' : `: ${cause}`}).` +
          (c.p[0] === 3n ? ` The blocked IRP is ${hex(c.p[3])} (P4) on the device stack of PDO ${hex(c.p[1])} (P2).` : '');
      },
      guidance: (c) =>
        (c.p[0] === 3n
          ? 'In WinDbg, !irp on P4 names the driver that holds the IRP and !devstack on P2 shows the stack; that driver must complete or pass on the power IRP (PoCallDriver / IoCallDriver) promptly, never wait on it in its dispatch routine, and not block on its own queue or a lock held across sleep. '
          : '') +
        'Power IRPs must be completed or passed down on every path, including failure and surprise-removal paths; long work belongs in a work item that completes the IRP afterwards.',
    },
  ],
  // bug-check-0xa0--internal-power-error.md (the most common P1 values)
  [
    0xa0,
    {
      params: subtypeParams(
        'Violation type',
        new Map<number, Subtype>([
          [0x1, { cause: 'an error while handling a power IRP', p2: value('Detail', 'which error: 1 too many references, 2–4 too many inrush IRPs queued, 5 IRP sent to a passive-level device, 6 IRP allocation failed'), p3: value('Detail', 'the limit, or the target device object (P2 = 6)'), p4: value('Detail', 'system (0) or device (1) power IRP (P2 = 6)') }],
          [0x2, { cause: 'an internal failure while processing a power event' }],
          [0x3, { cause: 'a hibernation context page failed its checksum', p2: value('Expected', 'the expected checksum'), p3: value('Actual', 'the actual checksum'), p4: count('Line', 'the line number of the failure') }],
          [0x4, { cause: 'a page about to be written to the hibernation file failed its checksum', p2: value('Expected', 'the expected checksum'), p3: value('Actual', 'the actual checksum'), p4: count('Line', 'the line number of the failure') }],
          [0x5, { cause: 'the shutdown handler received an unknown shutdown code' }],
          [0x7, { cause: 'an unhandled exception occurred' }],
          [0x8, { cause: 'a fatal error while processing a system power event', p2: value('Always 0x100', 'always 0x100'), p3: address('Device object', 'the device object'), p4: address('Summary', 'the POWER_CHANNEL_SUMMARY') }],
          [0x9, { cause: 'a fatal error while preparing the hibernation file', p2: param('Status', 'the status code', (v, c) => statusText(v, c.width)), p3: value('Mirroring phase', 'the mirroring phase'), p4: RESERVED }],
          [0xa, { cause: 'a bug check was requested on wake, for debugging', p2: value('When', '0 immediately on resume, 1 after non-pageable devices powered on, 2 after all devices powered on') }],
          [0xb, { cause: 'the hibernation file is too small', p2: count('File size', 'the size of the hibernation file', 'bytes'), p3: value('Progress', 'how far hibernation got before it ran out of space'), p4: value('Remaining', 'the size of the remaining memory ranges, when P3 is 4') }],
          [0xc, { cause: 'the dump stack failed to initialise', p2: param('Status', 'the status code', (v, c) => statusText(v, c.width)), p3: address('Dump stack context', 'the dump stack context'), p4: RESERVED }],
          [0xd, { cause: 'the system did not complete a power transition in time', p2: value('Power state', 'the system power state in transition'), p3: value('Checkpoint', 'the sleep checkpoint most recently reached'), p4: address('POP_POWER_ACTION', 'the POP_POWER_ACTION structure') }],
          ...sub([0xf, 0xf0, 0xf1], { cause: 'the system did not complete a power transition (suspend or resume) in time', p2: value('Power state', 'the system power state in transition'), p3: value('Checkpoint', 'the sleep checkpoint most recently reached'), p4: address('Thread', 'the thread processing the request') }),
          [0x101, { cause: 'an unhandled exception while processing a system power event', p2: RESERVED, p3: address('Exception pointers', 'the exception pointers'), p4: RESERVED }],
          [0x10a, { cause: 'the disk subsystem failed to write part of the hibernation file', p2: RESERVED, p3: address('POP_HIBER_CONTEXT', 'the POP_HIBER_CONTEXT'), p4: param('Status', 'the NTSTATUS failure code', (v, c) => statusText(v, c.width)) }],
        ]),
        [value('Parameter 2', 'parameter 2'), value('Parameter 3', 'parameter 3'), value('Parameter 4', 'parameter 4')],
      ),
      explain: (c) => {
        const cause = c.cause;
        return `The power manager hit a fatal error (type ${hex(c.p[0])}${cause === undefined ? '' : `: ${cause}`}).`;
      },
      guidance: (c) =>
        c.p[0] === 0xdn || c.p[0] === 0xfn || c.p[0] === 0xf0n || c.p[0] === 0xf1n
          ? 'A power transition stalled: look at the thread processing it (P4) and at drivers still holding power IRPs; a driver waiting in its power path, or a device that never answers, is the usual cause.'
          : 'Hibernation and power-event failures come from drivers in the power path, the storage (dump) stack, or firmware: update the storage and chipset drivers and firmware, and check the disk has room for the hibernation file.',
    },
  ],
  // bug-check-0xc2--bad-pool-caller.md: no pointers to CPU state.
  [
    0xc2,
    {
      params: subtypeParams(
        'Violation type',
        new Map<number, Subtype>([
          [0x00, { cause: 'a zero-byte pool allocation was requested', p2: NOT_USED, p3: value('Pool type', 'the pool type'), p4: value('Pool tag', 'the pool tag') }],
          ...sub([0x01, 0x02, 0x04], { cause: 'a pool header is corrupt', p2: address('Pool header', 'the pool header'), p3: value('Header contents', 'the first part of the pool header'), p4: NOT_USED }),
          [0x06, { cause: 'pool that was already freed is being freed again', p2: RESERVED, p3: address('Pool header', 'the pool header'), p4: value('Header contents', 'the pool header contents') }],
          [0x07, { cause: 'pool that was already freed is being freed again', p2: RESERVED, p3: value('Header contents', 'the pool header contents'), p4: address('Block', 'the pool block being freed') }],
          [0x08, { cause: 'pool was allocated at an invalid IRQL', p2: CURRENT_IRQL, p3: value('Pool type', 'the pool type'), p4: count('Size', 'the size of the allocation', 'bytes') }],
          [0x09, { cause: 'pool was freed at an invalid IRQL', p2: CURRENT_IRQL, p3: value('Pool type', 'the pool type'), p4: address('Pool', 'the pool address') }],
          [0x0a, { cause: 'pool is being freed with the wrong tag (it may belong to another component)', p2: address('Pool', 'the pool address'), p3: value("Allocator's tag", "the allocator's tag"), p4: value('Tag used', 'the tag used to free') }],
          ...sub([0x0b, 0x0c, 0x0d], { cause: 'a quota is being released on a corrupted pool allocation', p2: address('Pool', 'the pool address'), p3: value('Pool tag', 'the pool tag'), p4: address('Quota process', 'the bad quota process pointer') }),
          [0x40, { cause: 'kernel pool is being freed at a user-mode address', p2: address('Address', 'the starting address'), p3: address('System range', 'the start of system address space'), p4: NOT_USED }],
          [0x41, { cause: 'a non-allocated nonpaged pool address is being freed', p2: address('Address', 'the starting address'), p3: value('Page frame', 'the physical page frame'), p4: value('Highest page frame', 'the highest physical page frame') }],
          ...sub([0x42, 0x43], { cause: 'an address that was never in any pool is being freed', p2: address('Address', 'the address being freed'), p3: NOT_USED, p4: NOT_USED }),
          [0x44, { cause: 'a non-allocated nonpaged pool address is being freed', p2: address('Address', 'the starting address'), p3: RESERVED, p4: NOT_USED }],
          [0x46, { cause: 'an invalid pool address is being freed', p2: address('Address', 'the starting address'), p3: NOT_USED, p4: NOT_USED }],
        ]),
        [value('Parameter 2', 'parameter 2'), value('Parameter 3', 'parameter 3'), value('Parameter 4', 'parameter 4')],
      ),
      explain: (c) => {
        const cause = c.cause;
        return `A caller used the pool allocator wrongly (type ${hex(c.p[0])}${cause === undefined ? '' : `: ${cause}`}); the caller is on the stack.`;
      },
      guidance: () =>
        'The driver that called ExAllocatePool*/ExFreePool* on the stack is the one to fix: free each allocation exactly once with the tag it was allocated with, never free at a user address, ' +
        'allocate and free paged pool only at APC_LEVEL or below and non-paged pool only at DISPATCH_LEVEL or below. Driver Verifier pool tracking pins down double frees.',
    },
  ],
  // bug-check-0xc4--driver-verifier-detected-violation.md (a handful of the common P1 values)
  [
    0xc4,
    {
      params: subtypeParams(
        'Violation type',
        new Map<number, Subtype>([
          [0x00, { cause: 'the driver requested a zero-byte pool allocation', p2: CURRENT_IRQL, p3: value('Pool type', 'the pool type'), p4: count('Size', 'the number of bytes') }],
          [0x01, { cause: 'the driver allocated paged pool above APC_LEVEL', p2: CURRENT_IRQL, p3: value('Pool type', 'the pool type'), p4: count('Size', 'the size of the allocation', 'bytes') }],
          [0x02, { cause: 'the driver allocated non-paged pool above DISPATCH_LEVEL', p2: CURRENT_IRQL, p3: value('Pool type', 'the pool type'), p4: count('Size', 'the size of the allocation', 'bytes') }],
          [0x10, { cause: 'the driver freed an address no allocation returned', p2: address('Address', 'the bad address'), p3: NOT_USED, p4: NOT_USED }],
          [0x11, { cause: 'the driver freed paged pool above APC_LEVEL', p2: CURRENT_IRQL, p3: value('Pool type', 'the pool type'), p4: address('Pool', 'the pool address') }],
          [0x12, { cause: 'the driver freed non-paged pool above DISPATCH_LEVEL', p2: CURRENT_IRQL, p3: value('Pool type', 'the pool type'), p4: address('Pool', 'the pool address') }],
          ...sub([0x13, 0x14], { cause: 'the driver freed pool that was already freed', p2: RESERVED, p3: address('Pool header', 'the pool header'), p4: value('Header contents', 'the pool header contents') }),
          [0x15, { cause: 'the pool being freed still contains an active timer', p2: address('Timer', 'the timer entry'), p3: value('Pool type', 'the pool type'), p4: address('Pool', 'the pool address being freed') }],
          [0x30, { cause: 'KeRaiseIrql was asked to raise to a lower (or invalid) IRQL', p2: CURRENT_IRQL, p3: param('Requested IRQL', 'the IRQL requested', (v, c) => irqlText(v, c.width)), p4: NOT_USED }],
          [0x31, { cause: 'KeLowerIrql was asked to lower to a higher (or invalid) IRQL', p2: CURRENT_IRQL, p3: param('Requested IRQL', 'the IRQL requested', (v, c) => irqlText(v, c.width)), p4: value('Detail', '0: the new IRQL is bad, 1: it is invalid inside a DPC routine') }],
          [0x32, { cause: 'KeReleaseSpinLock was called at an IRQL other than DISPATCH_LEVEL (perhaps a double release)', p2: CURRENT_IRQL, p3: address('Spin lock', 'the spin lock'), p4: NOT_USED }],
          [0x33, { cause: 'a fast mutex was acquired above APC_LEVEL', p2: CURRENT_IRQL, p3: address('Fast mutex', 'the fast mutex'), p4: NOT_USED }],
          [0x3b, { cause: 'a KeWaitXxx routine was called at DISPATCH_LEVEL or above', p2: CURRENT_IRQL, p3: address('Object', 'the object waited on'), p4: address('Timeout', 'the time-out parameter') }],
          [0x3f, { cause: 'an object with a zero reference count was referenced or dereferenced', p2: address('Object', 'the object'), p3: value('New count', 'the new reference count'), p4: NOT_USED }],
          [0x40, { cause: 'KeAcquireSpinLockAtDpcLevel was called below DISPATCH_LEVEL', p2: CURRENT_IRQL, p3: address('Spin lock', 'the spin lock'), p4: NOT_USED }],
          [0x41, { cause: 'KeReleaseSpinLockFromDpcLevel was called below DISPATCH_LEVEL', p2: CURRENT_IRQL, p3: address('Spin lock', 'the spin lock'), p4: NOT_USED }],
          [0x42, { cause: 'KeAcquireSpinLock was called above DISPATCH_LEVEL', p2: CURRENT_IRQL, p3: address('Spin lock', 'the spin lock'), p4: NOT_USED }],
          [0x60, { cause: 'the driver is unloading without freeing its pool allocations', p2: count('Paged bytes', 'bytes still allocated from paged pool'), p3: count('Non-paged bytes', 'bytes still allocated from non-paged pool'), p4: count('Allocations', 'allocations not freed') }],
          [0x62, { cause: 'the driver is unloading without freeing its pool allocations', p2: address('Driver name', 'the name of the driver'), p3: RESERVED, p4: count('Allocations', 'allocations not freed, paged and non-paged') }],
          [0x70, { cause: 'MmProbeAndLockPages was called above DISPATCH_LEVEL', p2: CURRENT_IRQL, p3: address('MDL', 'the MDL'), p4: value('Access mode', 'the access mode') }],
          [0x91, { cause: 'the driver switched stacks in a way Windows does not support (only KeExpandKernelStackAndCallout may extend a kernel stack)' }],
          [0xe3, { cause: 'a kernel-mode ZwXxx routine was called with a user-mode address', p2: address('Call site', 'the address of the call'), p3: address('User address', 'the user-mode address passed'), p4: RESERVED }],
          [0x1000, { cause: 'self-deadlock: a thread tried to acquire exclusively a resource it owns shared', p2: address('Resource', 'the resource') }],
          [0x1001, { cause: 'deadlock: a lock hierarchy violation was found', p2: address('Resource', 'the resource that closed the cycle') }],
          [0x2000, { cause: 'code integrity: the driver asked for an executable pool type (expected NonPagedPoolNx)', p2: address('Call site', 'the address in the driver where it was detected'), p3: value('Pool type', 'the pool type'), p4: value('Pool tag', 'the pool tag') }],
          [0x2001, { cause: 'code integrity: the driver asked for an executable page protection', p2: address('Call site', 'the address in the driver where it was detected'), p3: value('Protection', 'the page protection'), p4: NOT_USED }],
          [0x2002, { cause: 'code integrity: the driver asked for an executable MDL mapping (expected MdlMappingNoExecute)', p2: address('Call site', 'the address in the driver where it was detected'), p3: value('Page priority', 'the page priority flags'), p4: NOT_USED }],
        ]),
        [value('Parameter 2', 'parameter 2'), value('Parameter 3', 'parameter 3'), value('Parameter 4', 'parameter 4')],
      ),
      explain: (c) => {
        const cause = c.cause;
        return `Driver Verifier caught a driver breaking a rule (type ${hex(c.p[0])}${cause === undefined ? '' : `: ${cause}`}); the driver that broke it is on the stack.`;
      },
      guidance: (c) => {
        const irqlRule = [0x01n, 0x02n, 0x11n, 0x12n, 0x33n, 0x3bn, 0x42n, 0x70n].includes(c.p[0]);
        return (
          (irqlRule
            ? 'The call was made at too high an IRQL (P2): do that work at PASSIVE_LEVEL in a work item (IoQueueWorkItem / ExQueueWorkItem) instead of at DISPATCH_LEVEL or in a DPC, or use the non-paged, raised-IRQL variant of the call. '
            : '') +
          'Verifier stops at the first broken rule, in the driver that broke it: fix the call on the stack, then keep Verifier on until the driver runs clean. `!analyze -show 0xC4 <P1>` lists every rule.'
        );
      },
    },
  ],
  // bug-check-0xc5--driver-corrupted-expool.md: P1 address, P2 IRQL, P3 0 read / 1 write, P4 instruction.
  [
    0xc5,
    {
      params: [MEMORY_REFERENCED, IRQL, accessParam(ACCESS_C5), REFERENCING_CODE],
      explain: (c) =>
        `The code at ${hex(c.p[3])} (P4) ${accessVerb(c.p[2], ACCESS_C5)} ${hex(c.p[0])} (P1) at ${irqlText(c.p[1], c.width)} while working on the pool, and that memory was pageable or not valid. ` +
        `Almost always a driver corrupted the pool earlier (small allocations; larger ones end in 0xD0 instead).`,
      guidance: () =>
        `${RAISED_IRQL_FIX} For 0xC5 the first suspect is pool corruption: enable Driver Verifier special pool on the suspect drivers so the overrun or use after free crashes where it happens.`,
    },
  ],
  // bug-check-0xd1--driver-irql-not-less-or-equal.md: P1 address, P2 IRQL, P3 0 read / 1 write / 2 or 8 execute, P4 instruction.
  [
    0xd1,
    {
      params: [MEMORY_REFERENCED, IRQL, accessParam(ACCESS_D1), REFERENCING_CODE],
      explain: (c) =>
        `A driver ${accessVerb(c.p[2], ACCESS_D1)} ${hex(c.p[0])} (P1) at ${irqlText(c.p[1], c.width)}, and that address was pageable or not valid. ` +
        `The code at P4 (${hex(c.p[3])}) made the reference: the driver that contains it is the one to fix.` +
        pointerHint(c.p[0]),
      guidance: () => RAISED_IRQL_FIX,
    },
  ],
  // bug-check-0xe2--manually-initiated-crash.md: no parameters.
  [
    0xe2,
    {
      params: [NOT_USED, NOT_USED, NOT_USED, NOT_USED],
      explain: () =>
        'Someone crashed the machine on purpose: the keyboard crash sequence (CrashOnCtrlScroll), a debugger (.crash) or a tool. ' +
        'Nothing faulted; the dump records what the system was doing at that moment, often a hang being investigated.',
      guidance: () =>
        'Look for what was stuck rather than what crashed: threads waiting a long time, locks held, a processor spinning at raised IRQL, pending IRPs.',
    },
  ],
  // bug-check-0xef--critical-process-died.md: P1 process object, P2 0 process / 1 thread.
  [
    0xef,
    {
      params: [
        address('Process', 'the process object'),
        param('What ended', '0: the process terminated, 1: a thread terminated', (v) => (v === 0n ? 'the process terminated' : v === 1n ? 'a thread of the process terminated' : hex(v))),
        RESERVED,
        RESERVED,
      ],
      explain: (c) =>
        `A process Windows cannot run without (such as csrss, wininit, services, smss or lsass) ${c.p[1] === 1n ? 'lost a critical thread' : 'terminated'}; the process object is ${hex(c.p[0])} (P1).`,
      guidance: () =>
        'Find out why that process ended: its own crash (a user-mode dump of it, the event log), a driver that terminated it or broke something it depends on (file system filters, security products), or disk and system-file corruption (sfc /scannow, chkdsk).',
    },
  ],
  // bug-check-0x101---clock-watchdog-timeout.md: P3 is a PRCB, not saved CPU state.
  [
    0x101,
    {
      params: [
        count('Timeout', 'the clock interrupt time-out interval', 'clock ticks'),
        NOT_USED,
        address('PRCB', 'the processor control block of the unresponsive processor'),
        count('Processor', 'the index of the hung processor'),
      ],
      explain: (c) =>
        `Processor ${c.p[3].toString()} (P4) did not take its clock interrupt within ${c.p[0].toString()} clock ticks: it is stuck with interrupts blocked, spinning at high IRQL, or the hardware hung.`,
      guidance: () =>
        'The crashing stack is often not the stuck one: look at the hung processor (P4). In drivers, look for spin locks taken in inconsistent order, tight polling loops at raised IRQL or with interrupts disabled, and long inter-processor calls. In VMs and new platforms, suspect firmware and the hypervisor too.',
    },
  ],
  // bug-check-0x124---whea-uncorrectable-error.md: P2 is the WHEA_ERROR_RECORD (!errrec), not CPU state.
  [
    0x124,
    {
      params: subtypeParams(
        'Error source',
        new Map<number, Subtype>([
          [0x0, { cause: 'a machine check exception', p2: address('Error record', 'the WHEA_ERROR_RECORD'), p3: value('MCi_STATUS high', 'the high 32 bits of MCi_STATUS of the bank that failed'), p4: value('MCi_STATUS low', 'the low 32 bits of MCi_STATUS of the bank that failed') }],
          [0x1, { cause: 'a corrected machine check' }],
          [0x2, { cause: 'a corrected platform error' }],
          [0x3, { cause: 'a non-maskable interrupt (NMI) error' }],
          [0x4, { cause: 'an uncorrectable PCI Express error' }],
          [0x5, { cause: 'a generic hardware error' }],
          [0x6, { cause: 'an initialization error' }],
          [0x7, { cause: 'a boot error' }],
          [0x8, { cause: 'an SCI generic error' }],
          [0x9, { cause: 'an uncorrectable Itanium machine check abort', p2: address('Error record', 'the WHEA_ERROR_RECORD'), p3: count('SAL log length', 'the length of the SAL log', 'bytes'), p4: address('SAL log', 'the SAL log') }],
          [0xa, { cause: 'a corrected Itanium machine check' }],
          [0xb, { cause: 'a corrected Itanium platform error' }],
          [0xc, { cause: 'another error source type (v2)' }],
          [0xd, { cause: 'an SCI-based GHESv2 (ACPI generic hardware error source) error' }],
          [0xe, { cause: 'a baseboard management controller (BMC) error' }],
          [0xf, { cause: 'an address range scrubbing (persistent memory) error' }],
          [0x10, { cause: 'a device driver error source' }],
          [0x11, { cause: 'an Arm synchronous external abort' }],
          [0x12, { cause: 'an Arm SError interrupt' }],
        ]),
        [address('Error record', 'the WHEA_ERROR_RECORD'), RESERVED, RESERVED],
      ),
      explain: (c) => {
        const cause = c.cause;
        return `The hardware reported an error it could not correct (${cause ?? `error source ${hex(c.p[0])}`}); the WHEA error record at ${hex(c.p[1])} (P2) describes it.`;
      },
      guidance: () =>
        'This is hardware or firmware, rarely a driver: read the error record (!errrec P2) for the failing component, then check cooling, undo overclocking and undervolting, test the RAM, and update BIOS/UEFI and CPU microcode.',
    },
  ],
  // bug-check-0x133-dpc-watchdog-violation.md: P1 0 = one DPC/ISR too long, 1 = cumulative time at DISPATCH_LEVEL.
  [
    0x133,
    {
      params: subtypeParams(
        'Violation type',
        new Map<number, Subtype>([
          [0x0, { cause: 'a single DPC or ISR ran past its time allotment', p2: count('Time count', 'the DPC time count', 'ticks'), p3: count('Allotment', 'the DPC time allotment', 'ticks'), p4: address('Triage block', 'the DPC_WATCHDOG_GLOBAL_TRIAGE_BLOCK') }],
          [0x1, { cause: 'the processor spent too long in total at DISPATCH_LEVEL or above', p2: count('Watchdog period', 'the watchdog period', 'ticks'), p3: address('Triage block', 'the DPC_WATCHDOG_GLOBAL_TRIAGE_BLOCK'), p4: RESERVED }],
        ]),
      ),
      explain: (c) =>
        c.p[0] === 0n
          ? `A single DPC or interrupt service routine ran for ${c.p[1].toString()} ticks (P2), past its allotment of ${c.p[2].toString()} (P3); the code on the stack is the one that ran too long.`
          : c.p[0] === 1n
            ? 'The processor spent too long in total at DISPATCH_LEVEL or above (many DPCs, or code holding a spin lock); the code on the stack may only be the last straw.'
            : `The DPC watchdog fired (type ${hex(c.p[0])}).`,
      guidance: () =>
        'Keep DPCs and ISRs short: do not poll hardware, spin-wait or loop over large lists there, and hold spin locks briefly. Move long work to PASSIVE_LEVEL with a work item or a system thread; a DPC runs at DISPATCH_LEVEL itself, so splitting work into more DPCs does not help. For type 1, an ETW trace of DPC/ISR times (xperf, WPA) names the driver.',
    },
  ],
  // bug-check-0x139--kernel-security-check-failure.md: P2 trap frame (.trap), P3 exception record (.exr).
  [
    0x139,
    {
      params: [
        param('Check type', 'the kind of corruption detected', (v) => {
          const t = SECURITY_CHECK_TYPES.get(v);
          return t === undefined ? `${hex(v)} (not a documented check type)` : `${v.toString()}: ${t}`;
        }),
        address('Trap frame', 'the address of the trap frame for the exception'),
        address('Exception record', 'the address of the exception record for the exception'),
        RESERVED,
      ],
      explain: (c) => {
        const t = SECURITY_CHECK_TYPES.get(c.p[0]);
        return `A kernel security check (__fastfail) found corruption: ${t ?? `check type ${hex(c.p[0])}`}. ` +
          `The trap frame (P2) and exception record (P3) hold the state where the check fired; the stack that matters is the one the trap frame describes, as WinDbg's .trap shows.`;
      },
      guidance: (c) => {
        if (c.p[0] === 3n) {
          return 'A LIST_ENTRY was found broken. Usual causes in drivers: RemoveEntryList twice on the same entry, freeing a structure that is still linked into a list, a stack-based KEVENT or KTIMER going out of scope while still in use, or a list updated from two threads without a lock. Walk the list both ways (dl / dlb) to find where it breaks.';
        }
        if (c.p[0] === 0n || c.p[0] === 2n) {
          return 'A local buffer was written past its end in the function that was returning: check lengths and indices of stack arrays and string copies in that function (RtlStringCb*, sizes in bytes vs. characters).';
        }
        return 'The check fired where the corruption was found, which may be later than where it was made: name the driver on the stack at the trap frame and check its use of the data the check names.';
      },
    },
  ],
  // bug-check-0x1c8--manually-initiated-power-button-hold.md: P1 milliseconds held, P2 triage block.
  [
    0x1c8,
    {
      params: [
        count('Hold time', 'the time the power button was held', 'ms'),
        address('Triage block', 'the nt!_POP_POWER_BUTTON_TRIAGE_BLOCK'),
        RESERVED,
        RESERVED,
      ],
      explain: (c) =>
        `The power button was held for ${c.p[0].toString()} ms and the system was set to bug check instead of powering off: someone judged the machine hung. Nothing faulted; the dump records what it was doing.`,
      guidance: () =>
        'Look for the hang: threads waiting a long time, locks held, a processor spinning at raised IRQL, pending power or PnP IRPs, a display driver that stopped responding.',
    },
  ],
]);

const PAGE_FAULT_TYPES: ReadonlyMap<bigint, string> = new Map<bigint, string>([
  [0x0n, 'NONPAGED_BUGCHECK_FREED_PTE: the page table entry is marked free'],
  [0x2n, 'NONPAGED_BUGCHECK_NOT_PRESENT_PAGE_TABLE: no valid page table entry maps it'],
  [0x3n, 'NONPAGED_BUGCHECK_WRONG_SESSION: a session address used from a process with no session'],
  [0x4n, 'NONPAGED_BUGCHECK_VA_NOT_CANONICAL: a non-canonical address'],
  [0xfn, 'NONPAGED_BUGCHECK_USER_VA_ACCESS_INCONSISTENT: kernel code touched a user address where that is not allowed'],
]);

// Trap numbers: EXCEPTION_* from the WDK headers; 4, 0xE, 0x12 and 0x13 have no EXCEPTION_ name there.
const TRAPS: ReadonlyMap<bigint, string> = new Map<bigint, string>([
  [0x0n, 'divide error (EXCEPTION_DIVIDED_BY_ZERO, trap 0)'],
  [0x1n, 'debug trap (EXCEPTION_DEBUG, trap 1)'],
  [0x2n, 'non-maskable interrupt (EXCEPTION_NMI, trap 2)'],
  [0x3n, 'breakpoint (EXCEPTION_INT3, trap 3)'],
  [0x4n, 'overflow (INTO, trap 4)'],
  [0x5n, 'bound range exceeded (EXCEPTION_BOUND_CHECK, trap 5)'],
  [0x6n, 'invalid opcode (EXCEPTION_INVALID_OPCODE, trap 6)'],
  [0x7n, 'coprocessor (NPX) not available (EXCEPTION_NPX_NOT_AVAILABLE, trap 7)'],
  [0x8n, 'double fault (EXCEPTION_DOUBLE_FAULT, trap 8)'],
  [0x9n, 'coprocessor segment overrun (EXCEPTION_NPX_OVERRUN, trap 9)'],
  [0xan, 'invalid TSS (EXCEPTION_INVALID_TSS, trap 0xa)'],
  [0xbn, 'segment not present (EXCEPTION_SEGMENT_NOT_PRESENT, trap 0xb)'],
  [0xcn, 'stack fault (EXCEPTION_STACK_FAULT, trap 0xc)'],
  [0xdn, 'general protection fault (EXCEPTION_GP_FAULT, trap 0xd)'],
  [0xen, 'page fault (trap 0xe)'],
  [0xfn, 'reserved trap (EXCEPTION_RESERVED_TRAP, trap 0xf)'],
  [0x10n, 'x87 floating-point error (EXCEPTION_NPX_ERROR, trap 0x10)'],
  [0x11n, 'alignment check (EXCEPTION_ALIGNMENT_CHECK, trap 0x11)'],
  [0x12n, 'machine check (trap 0x12)'],
  [0x13n, 'SIMD floating-point exception (trap 0x13)'],
]);

function trapText(v: bigint): string {
  return TRAPS.get(v) ?? `trap ${hex(v)}`;
}

const SECURITY_CHECK_TYPES: ReadonlyMap<bigint, string> = new Map<bigint, string>([
  [0n, 'a stack-based buffer overrun (legacy /GS check)'],
  [1n, 'VTGuard found an illegal virtual function table (a corrupted C++ object)'],
  [2n, 'the stack cookie check found a stack-based buffer overrun (/GS)'],
  [3n, 'a LIST_ENTRY was corrupted (for example removed twice)'],
  [4n, 'reserved'],
  [5n, 'an invalid parameter was passed to a function that treats invalid parameters as fatal'],
  [6n, 'the stack cookie was not initialised by the loader (a driver built for a newer Windows)'],
  [7n, 'a fatal program exit was requested'],
  [8n, 'a compiler-inserted array bounds check failed'],
  [9n, 'RtlQueryRegistryValues used RTL_QUERY_REGISTRY_DIRECT without TYPECHECK on an untrusted hive'],
  [10n, 'the indirect call guard (CFG) found an invalid control transfer'],
  [11n, 'the write guard found an invalid memory write'],
  [12n, 'a switch to an invalid fiber context'],
  [13n, 'an invalid register context was assigned'],
  [14n, 'an object reference count is invalid'],
  [18n, 'a switch to an invalid jmp_buf context'],
  [19n, 'read-only data was modified unsafely'],
  [20n, 'a cryptographic self-test failed'],
  [21n, 'an invalid exception chain'],
  [22n, 'a cryptographic library error'],
  [23n, 'an invalid call from within DllMain'],
  [24n, 'an invalid image base address'],
  [25n, 'a failure while protecting a delay-load import'],
  [26n, 'a call to an unsafe extension'],
  [27n, 'a deprecated service was invoked'],
  [28n, 'an out-of-bounds buffer access'],
  [29n, 'an RTL_BALANCED_NODE tree entry was corrupted'],
  [37n, 'an out-of-range switch jump-table entry was invoked'],
  [38n, 'a longjmp to an invalid target'],
  [39n, 'an export-suppressed call target could not be made valid'],
]);

const GENERIC_PARAMS: ParamSpecs = [value('Parameter 1', 'parameter 1'), value('Parameter 2', 'parameter 2'), value('Parameter 3', 'parameter 3'), value('Parameter 4', 'parameter 4')];

/** The detailed entry for a code: its own, or the base code's for an `_M` variant. */
function specFor(code: number): Spec | undefined {
  return SPECS.get(code) ?? ((code & BUGCHECK_M_FLAG) !== 0 ? SPECS.get(baseBugcheckCode(code)) : undefined);
}

/** The public name of a bug check code; `<BASE>_M` for the 0x10000000 variant of a known code. */
export function bugcheckName(code: number): string | undefined {
  const known = BUGCHECK_NAMES.get(code >>> 0);
  if (known) return known;
  if ((code & BUGCHECK_M_FLAG) !== 0) {
    const base = BUGCHECK_NAMES.get(baseBugcheckCode(code));
    if (base) return `${base}_M`;
  }
  return undefined;
}

/** Explains a bug check: its name, each parameter in words, what happened, and what to do. */
export function explainBugcheck(code: number, parameters: readonly bigint[], pointerWidth: 4 | 8): BugcheckExplanation {
  const p = [0, 1, 2, 3].map((i) => maskToWidth(parameters[i] ?? 0n, pointerWidth)) as unknown as Params4;
  const name = bugcheckName(code) ?? (code === 0 ? 'NO_BUGCHECK' : `UNKNOWN_BUGCHECK_${codeHex(code >>> 0)}`);
  const spec = specFor(code >>> 0);
  const bare: Ctx = { code, name, p, width: pointerWidth, cause: undefined };
  const specs = spec === undefined ? GENERIC_PARAMS : typeof spec.params === 'function' ? spec.params(bare) : spec.params;
  const decoded = specs.map((s, i) => s.decode?.(p[i]!, bare) ?? `${s.text}: ${hex(p[i]!)}`);
  const first = decoded[0]!;
  const colon = first.indexOf(': ');
  const cause = spec !== undefined && typeof spec.params === 'function' && colon > 0 && !first.includes('not a value stackhog knows') ? first.slice(colon + 2) : undefined;
  const ctx: Ctx = { ...bare, cause };
  const explanation =
    spec?.explain(ctx) ??
    (code === 0
      ? 'The dump records no bug check (code 0): it was written at a debugger break or by a tool (a kernel debugger\'s .dump, LiveKD), not by a crash. The stack shows where the processor was stopped.'
      : undefined) ??
    `Windows stopped with bug check ${codeHex(code >>> 0)}${bugcheckName(code) ? ` (${name})` : ''}. stackhog has no detailed description of this code; the parameters are listed as the dump holds them.`;
  const guidance = spec?.guidance?.(ctx);
  // Which parameters point at saved state is the snapshot model's table, which the kernel reader follows too.
  const pointers = bugcheckStatePointers(code).map((ptr) => ({ ...ptr, address: p[ptr.parameter - 1]! })).filter((ptr) => ptr.address !== 0n);
  return {
    code: code >>> 0,
    name,
    parameters: specs.map((s, i) => ({ value: p[i]!, name: s.name, meaning: decoded[i]! })),
    explanation,
    guidance,
    pointers,
    stackOverflowLikely: spec?.stackOverflow?.(ctx) ?? false,
  };
}
