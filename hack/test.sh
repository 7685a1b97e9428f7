#!/usr/bin/env bash
# Installs what the tests need, builds the static binaries, runs every test.
# Integration tests run the built binaries in network namespaces they create (needs root).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/hack/deps.sh" test
"$root/hack/build.sh" "$root/out/bin"
export V6CNI_BIN="$root/out/bin"
export V6CNI_REFERENCE_BIN=/usr/lib/cni
set +e
# Real clients first (libcni 1.1.2 through hack/cnictl, then podman 4.3.1), then the benchmark in
# quick mode (so it never rots), so swift test's summary stays last.
clients_rc=0
"$root/hack/conformance.sh" "$root/out/bin" 2>&1 | tee "$root/out/conformance.log"
[ "${PIPESTATUS[0]}" = 0 ] || clients_rc=1
"$root/hack/podman-check.sh" "$root/out/bin" 2>&1 | tee "$root/out/podman-check.log"
[ "${PIPESTATUS[0]}" = 0 ] || clients_rc=1
"$root/hack/bench.sh" --quick 2>&1 | tee "$root/out/bench-quick.log"
[ "${PIPESTATUS[0]}" = 0 ] || clients_rc=1
swift test --scratch-path "$root/.build" 2>&1 | tee "$root/out/test.log" \
    | grep -vE "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking)"
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] && [ "$clients_rc" != 0 ] && rc=1
exit "$rc"
