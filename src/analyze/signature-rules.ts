/**
 * The default lists crash signatures use (signature.ts), as data. Each entry is a regular
 * expression matched against a frame's whole name (`module!function`, the function's parameter
 * list left out, or `module+0xOFFSET`), case-insensitively.
 *
 * - `skip`: frames that say nothing about the bug: exception dispatch and raising, the C++ throw
 *   machinery, unhandled-exception filters, the crash reporter itself, kernel trap and bugcheck
 *   entry points. They are left out of the signature.
 * - `prefix`: frames that are where the crash shows but rarely the bug (memory copies, heap
 *   routines, abort): they are kept, and the signature goes on to the next frame, as Socorro's
 *   prefix list does.
 */
export interface SignatureRules {
  readonly skip: readonly string[];
  readonly prefix: readonly string[];
  /** At most this many prefix frames before the frame that ends the signature. */
  readonly maxPrefixFrames: number;
}

export const DEFAULT_SIGNATURE_RULES: SignatureRules = {
  skip: [
    // Windows user-mode exception dispatch and raising.
    '^ntdll\\.dll!(KiUserExceptionDispatcher|RtlDispatchException|RtlRaiseException|RtlRaiseStatus|ZwRaiseException|NtRaiseException|RtlpExecuteHandlerForException|ExecuteHandler2?|RtlpCallVectoredHandlers|RtlCallVectoredExceptionHandlers|_C_specific_handler|__C_specific_handler|RtlReportException|RtlpReportException|KiRaiseUserExceptionDispatcher)$',
    '^(kernelbase|kernel32)\\.dll!(RaiseException|RaiseFailFastException|UnhandledExceptionFilter|ReportException)$',
    '^(kernelbase|kernel32)\\.dll!(WaitForSingleObject(Ex)?|WaitForMultipleObjects(Ex)?)$',
    '^ntdll\\.dll!(NtWaitForSingleObject|ZwWaitForSingleObject|NtWaitForMultipleObjects|ZwWaitForMultipleObjects|NtDelayExecution|ZwDelayExecution)$',
    // The C++ throw machinery and the C runtime's failure reporting.
    '!(_CxxThrowException|__CxxFrameHandler\\d?|__InternalCxxFrameHandler|__FrameHandler\\d?::.*|_CallSettingFrame.*|__CxxCallCatchBlock|_CallCatchBlock2?|__GSHandlerCheck.*|_invoke_watson|_invalid_parameter(_noinfo(_noreturn)?)?|_call_reportfault|__scrt_fastfail|_crt_debugger_hook)$',
    '^(ucrtbase|ucrtbased|vcruntime140|vcruntime140_1|vcruntime140d|msvcrt|msvcr\\d+|msvcp\\d+)\\.dll!(raise|_raise|terminate|_purecall|_invalid_parameter.*|_invoke_watson|_CxxThrowException|__CxxFrameHandler\\d?)$',
    // Crash reporters on the crashing thread.
    '!(google_breakpad::ExceptionHandler::.*|crashpad::.*CrashpadClient.*|crashpad::.*ExceptionHandler.*|WerpReportFault.*)$',
    // Kernel trap, exception and bugcheck entry points.
    '^(nt|ntoskrnl\\.exe|ntkrnlmp\\.exe|ntkrnlpa\\.exe|ntkrpamp\\.exe)!(KeBugCheck(Ex|2)?|KiBugCheckDispatch|KiExceptionDispatch|KiDispatchException|KiPageFault|KiGeneralProtectionFault|KiSystemServiceHandler|KiDoubleFaultAbort|KiTrap0[0-9a-fA-F]|KiTrap[0-9a-fA-F]{2}|RtlDispatchException|RtlpExecuteHandlerForException|KiInvalidOpcodeFault|KiDivideErrorFault|KiBreakpointTrap)$',
  ],
  prefix: [
    // Memory and string routines: the crash shows in them, the bad pointer came from the caller.
    '!(memcpy|memmove|memset|memcmp|memchr|strlen|strnlen|wcslen|wcsnlen|strcmp|strncmp|wcscmp|strcpy|strncpy|wcscpy|strcat|wcscat|strchr|wcschr|memcpy_s|memmove_s|strcpy_s|wcscpy_s|RtlCopyMemory|RtlMoveMemory|RtlFillMemory|RtlZeroMemory|RtlCompareMemory|RtlCopyMemoryNonTemporal)$',
    // The heap: a corrupted heap faults in its own code.
    '!(malloc|free|realloc|calloc|_malloc_base|_free_base|_realloc_base|_calloc_base|operator new(\\[\\])?|operator delete(\\[\\])?|HeapAlloc|HeapFree|HeapReAlloc|LocalFree|GlobalFree|RtlAllocateHeap|RtlFreeHeap|RtlReAllocateHeap|RtlpAllocateHeap.*|RtlpFreeHeap.*|RtlpLowFragHeap.*|RtlpHeap.*|RtlpAllocateHeapInternal|RtlpFreeHeapInternal|RtlpReAllocateHeapInternal|RtlpLogHeapFailure|RtlReportCriticalFailure|ExAllocatePool.*|ExFreePool.*)$',
    // Aborts and fail-fast: where the program gave up, not why.
    '!(abort|_abort|__fastfail|RtlFailFast|__report_gsfailure|__report_rangecheckfailure|_assert|_wassert|std::_Xout_of_range|std::_Xlength_error|std::_Xinvalid_argument|std::_Throw_.*)$',
  ],
  maxPrefixFrames: 10,
};
