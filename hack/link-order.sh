#!/usr/bin/env bash
# Regenerates hack/link-order.txt: the code and data symbols one ADD and one DEL of each plugin
# touch, in first-touch order, for the linker to place side by side (hack/build.sh passes it as
# lld's --symbol-ordering-file).
#
# Why: a plugin lives a few milliseconds, and the kernel maps a static binary's pages 64 kB at a time
# around each fault ("fault-around"). host-local6 touches 1.3 MB of code spread over 62 of the 90
# 64-kB windows of its text, so 4 MB became resident; grouped, the same code spans a third of the
# windows (docs/benchmarks.md, "Peak RSS").
#
# Run after changes that move the hot path (a stale list only costs memory, never correctness).
# Needs root, valgrind and python3; touches only namespaces it creates (v6o<pid>-…).
# Usage: hack/link-order.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
for tool in valgrind python3; do
    command -v "$tool" >/dev/null || { echo "hack/link-order.sh needs $tool" >&2; exit 1; }
done
scratch="$root/.build-order"
swift build -c release --scratch-path "$scratch" \
    -Xswiftc -static-executable -Xswiftc -use-ld=lld -Xswiftc -Xfrontend -Xswiftc -function-sections \
    -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors \
    -Xlinker --wrap=swift_copyAuxiliaryExecutablePath -Xlinker --strip-debug 2>&1 \
    | grep -vE "requires at runtime the shared libraries|Using '" | tail -1
bin=$(swift build -c release --scratch-path "$scratch" --show-bin-path)

tag="v6o$$"
work=$(mktemp -d "/tmp/$tag.XXXXXX")
cleanup() {
    for ns in "$tag-node" "$tag-pod"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$tag-node"
ip netns add "$tag-pod"
ip -n "$tag-node" link set lo up

# trace EXE VERB CONF NAME: runs one plugin call in the node namespace under valgrind's lackey
# (every instruction and data access), as a runtime would: environment + stdin.
trace() {
    local exe=$1 verb=$2 conf=$3 name=$4
    CNI_COMMAND=$verb CNI_CONTAINERID=order CNI_NETNS="/run/netns/$tag-pod" CNI_IFNAME=eth0 CNI_PATH="$bin" \
        ip netns exec "$tag-node" valgrind --tool=lackey --trace-mem=yes --log-file="$work/$name.trace" \
        "$bin/$exe" < "$conf" > "$work/$name.out"
}
ipam() { echo "\"ipam\":{\"type\":\"host-local6\",\"dataDir\":\"$work/ipam-$1\",\"ranges\":[[{\"subnet\":\"$2\"}]]}"; }
echo "{\"cniVersion\":\"1.0.0\",\"name\":\"order\",$(ipam d fd42:0:d::/64)}" > "$work/d.conf"
echo "{\"cniVersion\":\"1.0.0\",\"name\":\"order\",\"type\":\"bridge6\",\"bridge\":\"v6o0\",\"isGateway\":true,\"ipMasq\":true,$(ipam a fd42:0:a::/64)}" > "$work/a.conf"
echo "{\"cniVersion\":\"1.0.0\",\"name\":\"order\",\"type\":\"ptp6\",\"ipMasq\":true,$(ipam c fd42:0:c::/64)}" > "$work/c.conf"

# Each plugin's first call on a node is not the common one (directories, bridge, chains are new):
# one untraced ADD/DEL first, then the traced pair.
prime() { CNI_COMMAND=$2 CNI_CONTAINERID=prime CNI_NETNS="/run/netns/$tag-pod" CNI_IFNAME=eth0 CNI_PATH="$bin" \
    ip netns exec "$tag-node" "$bin/$1" < "$3" > /dev/null; }
order=()
for pair in host-local6:d bridge6:a ptp6:c; do
    exe=${pair%:*} conf="$work/${pair#*:}.conf"
    prime "$exe" ADD "$conf"; prime "$exe" DEL "$conf"
    trace "$exe" ADD "$conf" "$exe.add"
    trace "$exe" DEL "$conf" "$exe.del"
    order+=("$bin/$exe" "$work/$exe.add.trace" "$work/$exe.del.trace")
done

python3 - "$root/hack/link-order.txt" "${order[@]}" <<'EOF'
import bisect, subprocess, sys
out, args = sys.argv[1], sys.argv[2:]
seen, order = set(), []
for i in range(0, len(args), 3):
    binary, traces = args[i], args[i + 1:i + 3]
    syms = []  # (address, size, name): functions (size may be 0) and sized data objects
    nm = subprocess.run(["nm", "-n", "-S", "--defined-only", binary], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        p = line.split()
        if len(p) == 4 and p[2] in "tTwWdDrRbBvV":
            syms.append((int(p[0], 16), int(p[1], 16), p[3]))
        elif len(p) == 3 and p[1] in "tTwW":
            syms.append((int(p[0], 16), 0, p[2]))
    syms.sort()
    starts = [s[0] for s in syms]
    for trace in traces:
        for line in open(trace):
            p = line.split()
            if len(p) < 2 or p[0] not in ("I", "L", "S", "M"):
                continue
            a = int(p[1].split(",")[0], 16)
            k = bisect.bisect_right(starts, a) - 1
            if k < 0:
                continue
            start, size, name = syms[k]
            if p[0] != "I" and (size == 0 or a >= start + size):
                continue
            if name not in seen:
                seen.add(name)
                order.append(name)
with open(out, "w") as f:
    f.write("\n".join(order) + "\n")
print(f"{out}: {len(order)} symbols")
EOF
