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
swift test --scratch-path "$root/.build" 2>&1 | tee "$root/out/test.log" \
    | grep -vE "^\[[0-9]+/[0-9]+\] (Compiling|Emitting|Wrapping|Write|Linking)"
rc=${PIPESTATUS[0]}
exit "$rc"
