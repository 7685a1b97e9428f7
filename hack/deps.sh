#!/usr/bin/env bash
# Installs the Debian packages a task needs, only those missing.
# Usage: hack/deps.sh build|test|demo|conformance|podman
set -euo pipefail
pkgs=(libnl-3-dev libnl-route-3-dev pkg-config binutils)
case "${1:-build}" in
    build) ;;
    test) pkgs+=(iproute2 iptables containernetworking-plugins iputils-ping jq time gcc libc6-dev strace) ;;
    demo) pkgs+=(iproute2 iptables iputils-ping jq) ;;
    conformance) pkgs=(golang-go golang-github-appc-cni-dev containernetworking-plugins iproute2 iptables jq iputils-ping busybox-static) ;;
    podman) pkgs=(podman runc conmon busybox-static containernetworking-plugins iproute2 iptables jq util-linux) ;;
    *) echo "usage: hack/deps.sh build|test|demo|conformance|podman" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
