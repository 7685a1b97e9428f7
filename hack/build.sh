#!/usr/bin/env bash
# Fully static, stripped release build of every executable into one folder (default out/bin).
# Usage: hack/build.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/bin}
cd "$root"
# -disable-concrete-type-metadata-mangled-name-accessors: generic type metadata is reached through
# direct accessors instead of demangling a mangled name at first use; for a process that lives
# a few milliseconds that first use is most of its life (host-local6 ADD: 2.33M → 1.91M
# instructions, callgrind). Costs a few kB of code.
# lld with hack/link-order.txt (hack/link-order.sh): the code and data an ADD or DEL touches sit
# side by side instead of across the whole binary, so the kernel maps fewer 64-kB windows of it
# (host-local6 peak RSS 4.6 → 3.2 MB). -function-sections lets lld move our functions one by one.
# --wrap=swift_copyAuxiliaryExecutablePath: the runtime's search for swift-backtrace at start-up
# finds nothing beside our binaries on a node; Sources/ProcessStart answers it at once.
swift build -c release --scratch-path "$root/.build-release" \
    -Xswiftc -static-executable -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
    -Xswiftc -use-ld=lld -Xswiftc -Xfrontend -Xswiftc -function-sections \
    -Xlinker --symbol-ordering-file="$root/hack/link-order.txt" -Xlinker --no-warn-symbol-ordering \
    -Xlinker --wrap=swift_copyAuxiliaryExecutablePath -Xlinker -s 2>&1 | { grep -vE "requires at runtime the shared libraries|Using '(dlopen|getpwuid_r|getpwnam_r|getgrgid_r|getaddrinfo|getprotobyname|getprotobynumber)'" || true; }
# A failed build must not install the binaries of the previous one.
[ "${PIPESTATUS[0]}" = 0 ] || { echo "error: swift build failed" >&2; exit 1; }
bindir=$(swift build -c release --scratch-path "$root/.build-release" --show-bin-path)
mkdir -p "$out"
for exe in host-local6 bridge6 ptp6; do
    install -m 0755 "$bindir/$exe" "$out/$exe"
done
# bridge6 and ptp6 run host-local6 in their own process when the file CNI_PATH names is this very
# host-local6 (Sources/IPAM/CompanionIPAM.swift): they carry its build-id, written 28 bytes after the
# start of the marker (its text, NUL and padding: V6_COMPANION_AT in Sources/CLinux/build_id.c).
id=$(readelf -n "$out/host-local6" | awk '/Build ID:/ { print $3 }')
[[ $id =~ ^[0-9a-f]{40}$ ]] || { echo "error: no 20-byte build-id in $out/host-local6" >&2; exit 1; }
marker=v6cni:host-local6-build-id:
for exe in bridge6 ptp6; do
    at=$(LC_ALL=C grep -obUaF "$marker" "$out/$exe" | cut -d: -f1)
    [[ $at =~ ^[0-9]+$ ]] || { echo "error: $out/$exe has not exactly one $marker" >&2; exit 1; }
    printf "$(sed 's/../\\x&/g' <<<"$id")" | dd of="$out/$exe" bs=1 seek=$((at + 28)) conv=notrunc status=none
done
for exe in host-local6 bridge6 ptp6; do
    deps=$(ldd "$out/$exe" 2>&1 || true)
    if [[ $deps == *"not a dynamic executable"* ]]; then
        echo "built $out/$exe ($(du -h "$out/$exe" | cut -f1), static)"
    else
        echo "error: $out/$exe is not fully static:" >&2; ldd "$out/$exe" >&2; exit 1
    fi
done
