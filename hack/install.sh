#!/usr/bin/env bash
# Builds the static binaries and installs them into /opt/cni/bin (or DESTDIR).
# Usage: hack/install.sh [DESTDIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-/opt/cni/bin}
"$root/hack/deps.sh" build
"$root/hack/build.sh" "$root/out/bin"
mkdir -p "$dest"
for exe in host-local6 bridge6 ptp6; do install -m 0755 "$root/out/bin/$exe" "$dest/$exe"; done
echo "installed host-local6 bridge6 ptp6 into $dest"
