#!/usr/bin/env bash
# Builds the Windows ARM (ARMNT, Thumb-2) PE fixtures in test-data/pe-arm/ from test-data/pe-arm/src/
# and records LLVM's view of their unwind data (llvm-readobj --unwind) and code (llvm-objdump -d)
# beside them. Not run in CI: the committed files are the fixtures. Needs clang, lld and llvm of
# version 19 or later (clang 14 emits no ARM .pdata): apt-get install -y clang-19 lld-19 llvm-19.
set -euo pipefail
LLVM=${LLVM:-/usr/lib/llvm-19/bin}
here=$(cd "$(dirname "$0")/../.." && pwd)
src=$here/test-data/pe-arm/src
out=$here/test-data/pe-arm
work=$(mktemp -d /tmp/stackhog-pe-arm.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc() { "$LLVM/clang" --target=thumbv7-windows-msvc "$@"; }

cc -c "$src/chkstk.s" -o "$work/chkstk.o"
cc -c "$src/seh.s" -o "$work/seh.o"
cc -O2 -c "$src/support.c" -o "$work/support.o"

# 1. -O2 with the target's default frame pointer (r11), linked by lld-link as a DLL.
cc -O2 -c "$src/funcs.c" -o "$work/funcs-fp.o"
"$LLVM/lld-link" /machine:arm /dll /nodefaultlib /entry:_DllMainCRTStartup /brepro /noimplib /out:"$out/arm-fp.dll" \
  "$work/funcs-fp.o" "$work/support.o" "$work/chkstk.o" "$work/seh.o"
# 2. -O2 without frame pointers.
cc -O2 -fomit-frame-pointer -c "$src/funcs.c" -o "$work/funcs-nofp.o"
"$LLVM/lld-link" /machine:arm /dll /nodefaultlib /entry:_DllMainCRTStartup /brepro /noimplib /out:"$out/arm-nofp.dll" \
  "$work/funcs-nofp.o" "$work/support.o" "$work/chkstk.o"
# 3. -Os, compiled and linked by the clang driver with -fuse-ld=lld, as an executable.
cc -Os -fomit-frame-pointer -fuse-ld=lld -nostdlib -Wl,/entry:_DllMainCRTStartup,/subsystem:console,/brepro,/noimplib \
  -o "$out/arm-os.exe" "$src/funcs.c" "$src/support.c" "$work/chkstk.o"

# The code, disassembled from the objects in link order: an image's only symbols are its exports,
# whose Thumb bit would start llvm-objdump at odd addresses. The offsets within each function are
# the image's; where each function starts is in the .unwind.txt beside it.
disasm() { for o in "$@"; do "$LLVM/llvm-objdump" -d --triple=thumbv7-windows "$o" | sed "s|$work/||"; done; }
disasm "$work/funcs-fp.o" "$work/support.o" "$work/chkstk.o" "$work/seh.o" > "$out/arm-fp.dll.disasm.txt"
disasm "$work/funcs-nofp.o" "$work/support.o" "$work/chkstk.o" > "$out/arm-nofp.dll.disasm.txt"
cc -Os -fomit-frame-pointer -c "$src/funcs.c" -o "$work/funcs.o"
cc -Os -fomit-frame-pointer -c "$src/support.c" -o "$work/support.o"
disasm "$work/funcs.o" "$work/support.o" "$work/chkstk.o" > "$out/arm-os.exe.disasm.txt"
for f in arm-fp.dll arm-nofp.dll arm-os.exe; do
  "$LLVM/llvm-readobj" --unwind "$out/$f" | sed "s|$out/||" > "$out/$f.unwind.txt"
done
ls -l "$out"
