#!/usr/bin/env bash
# Makes the input of `npm run bench` row (d): an untrimmed full-memory minidump of at least 250 MB,
# written by wine's MiniDumpWriteDump for scripts/bench/full-dump.c (a 160 MiB committed heap, six
# threads parked at different call depths, the main thread crashed by a write through NULL).
# Nothing it writes is committed. Needs what the fixture lab needs (scripts/fixtures/README.md):
#   apt-get install -y gcc-mingw-w64-x86-64 wine wine64
#
#   bash scripts/bench/make-full-dump.sh [--heap-mib N] [--threads N] [--out DIR]
#
# Writes DIR/full-memory.dmp (default DIR: $TMPDIR/stackhog-bench, else /tmp/stackhog-bench) and
# DIR/full-memory.exe; the wine prefix is DIR/wineprefix (made on the first run, about 20 s).
# scripts/bench/make-2gb-dump.mjs re-synthesises this dump at 2 GB for row (e).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${TMPDIR:-/tmp}/stackhog-bench
heap_mib=160
threads=6
while [ $# -gt 0 ]; do
  case $1 in
    --heap-mib) heap_mib=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "make-full-dump: unknown argument $1" >&2; exit 2 ;;
  esac
done

export WINEPREFIX=${WINEPREFIX:-$out/wineprefix}
export WINEDEBUG=${WINEDEBUG:--all}
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko install prompts
export SOURCE_DATE_EPOCH=1700000000       # a fixed PE TimeDateStamp, as the fixture lab builds
wine=${WINE:-wine}
cc=x86_64-w64-mingw32-gcc
for tool in "$cc" "$wine" wineserver; do
  command -v "$tool" >/dev/null || { echo "make-full-dump: $tool not found (apt-get install -y gcc-mingw-w64-x86-64 wine wine64)" >&2; exit 1; }
done
mkdir -p "$out" "$WINEPREFIX"

# The fixture lab's flags: no RBP chain, so walks need the images' .pdata/.xdata (in the dump).
"$cc" -O2 -fomit-frame-pointer -g0 -Wall -Wextra -Werror -static -static-libgcc -Wl,--build-id \
  -I "$repo/test-data/fixtures/src" -o "$out/full-memory.exe" "$here/full-dump.c" -ldbghelp

[ -f "$WINEPREFIX/system.reg" ] || "$wine" wineboot -i >"$out/wineboot.log" 2>&1
drive=$WINEPREFIX/drive_c/bench
mkdir -p "$drive"
cp "$out/full-memory.exe" "$drive/"
rm -f "$drive/full-memory.dmp"
# The program crashes on purpose: its exit status is the exception's.
(cd "$drive" && timeout 600 "$wine" 'C:\bench\full-memory.exe' 'C:\bench\full-memory.dmp' "$heap_mib" "$threads" >"$out/full-memory.out" 2>&1) || true
wineserver -w
cat "$out/full-memory.out"
[ -s "$drive/full-memory.dmp" ] || { echo "make-full-dump: the dump was not written (see $out/full-memory.out)" >&2; exit 1; }
mv "$drive/full-memory.dmp" "$out/full-memory.dmp"
bytes=$(stat -c %s "$out/full-memory.dmp")
echo "make-full-dump: $out/full-memory.dmp, $bytes bytes ($((bytes / 1048576)) MiB)"
[ "$bytes" -ge 250000000 ] || { echo "make-full-dump: smaller than 250 MB; raise --heap-mib" >&2; exit 1; }
