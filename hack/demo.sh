#!/usr/bin/env bash
# The v6cni demo: builds the static plugins, makes a node namespace with two ULA pods and one GUA pod
# on bridge6, shows their addresses and routes, pings pod↔pod and pod→outside (ULA masqueraded, GUA
# with its own source), shows the one masquerade chain per ULA pod, then deletes everything.
# Everything happens in namespaces this script creates; the root namespace is never touched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/hack/deps.sh" demo >/dev/null
"$root/hack/build.sh" "$root/out/bin" >/dev/null
bin=$root/out/bin

id=v6demo-$$
node=$id-node outside=$id-out
data=$(mktemp -d /tmp/$id.XXXX)
cleanup() {
    for ns in "$node" "$outside" "$id-pod1" "$id-pod2" "$id-gua"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$data"
}
trap cleanup EXIT

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/  /'; }

# plugin VERB CONFLIST POD — runs the conflist's first plugin as a runtime would, in the node namespace.
plugin() {
    local verb=$1 conflist=$2 pod=$3 conf
    conf=$(jq -c --arg dir "$data" '.plugins[0] + {cniVersion, name} | .ipam.dataDir = $dir' "$conflist")
    if [ "$verb" = DEL ] && [ -f "$data/$pod.result" ]; then
        conf=$(jq -c --slurpfile r "$data/$pod.result" '. + {prevResult: $r[0]}' <<<"$conf")
    fi
    ip netns exec "$node" env CNI_COMMAND="$verb" CNI_CONTAINERID="$pod" CNI_NETNS="/run/netns/$id-$pod" \
        CNI_IFNAME=eth0 CNI_PATH="$bin" "$bin/$(jq -r .type <<<"$conf")" <<<"$conf"
}

bold "A node namespace, and an 'outside' network (2001:db8:ffff::/64) it routes to"
ip netns add "$node"; ip netns add "$outside"
ip -n "$node" link set lo up; ip -n "$outside" link set lo up
ip -n "$node" link add uplink type veth peer name eth0 netns "$outside"
ip -n "$node" addr add 2001:db8:ffff::1/64 dev uplink nodad
ip -n "$outside" addr add 2001:db8:ffff::2/64 dev eth0 nodad
# Our own test links get no DAD either: a forwarded packet's neighbour solicitation leaves from the
# outgoing link's link-local address, and none is sent while that address is tentative.
ip netns exec "$node" sysctl -qw net.ipv6.conf.uplink.accept_dad=0
ip netns exec "$outside" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
ip -n "$node" link set uplink up; ip -n "$outside" link set eth0 up
# Wait for the kernel to finish bringing the link up (operstate UP) before counting on it.
for _ in $(seq 100); do ip -n "$outside" -o link show eth0 | grep -q "state UP" && break; sleep 0.02; done
# The outside knows the way back to the GUA pod prefix only; ULA pods must be masqueraded to reach it.
ip -n "$outside" route add 2001:db8:1::/64 via 2001:db8:ffff::1
for src in fd42:1::/64 2001:db8:1::/64 2001:db8:ffff::1/128; do
    ip netns exec "$outside" ip6tables -A INPUT -p ipv6-icmp --icmpv6-type echo-request -s "$src"
done
echo "  node: uplink 2001:db8:ffff::1   outside: eth0 2001:db8:ffff::2 (route back to 2001:db8:1::/64 only)"

bold "ADD: two ULA pods (cni-conf/10-bridge6-ula.conflist) and one GUA pod (cni-conf/20-bridge6-gua.conflist)"
for pod in pod1 pod2 gua; do
    ip netns add "$id-$pod"
    conflist=$root/cni-conf/10-bridge6-ula.conflist
    [ "$pod" = gua ] && conflist=$root/cni-conf/20-bridge6-gua.conflist
    start=$(date +%s%N)
    plugin ADD "$conflist" "$pod" >"$data/$pod.result"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    printf '  %-5s ADD in %3d ms: %s\n' "$pod" "$ms" "$(jq -c '[.ips[].address]' "$data/$pod.result")"
done
addr() { jq -r '.ips[0].address | split("/")[0]' "$data/$1.result"; }

bold "What the kernel has"
run ip -n "$id-pod1" -br -6 addr show dev eth0
run ip -n "$id-pod1" -6 route
run ip -n "$node" -br link show type bridge
run ip -n "$node" -br -6 addr show dev cni6
run ip -n "$node" -br -6 addr show dev cni6g

bold "Pings, each the first packet right after ADD (no DAD wait)"
ping1() { local ns=$1 dst=$2 what=$3
    if ip netns exec "$id-$ns" ping -6 -c1 -W1 "$dst" >/dev/null 2>&1; then echo "  ok    $what"; else echo "  FAIL  $what"; fi; }
ping1 pod1 fd42:1::1 "pod1 → its gateway fd42:1::1"
ping1 pod1 "$(addr pod2)" "pod1 → pod2 $(addr pod2) (ULA to ULA: source kept)"
ping1 pod1 2001:db8:ffff::2 "pod1 → outside 2001:db8:ffff::2 (ULA: masqueraded)"
ping1 gua 2001:db8:ffff::2 "gua  → outside 2001:db8:ffff::2 (GUA: routed, no NAT)"

bold "Sources the outside saw (echo requests per source prefix)"
ip netns exec "$outside" ip6tables -L INPUT -v -n -x | awk 'NR>2 {printf "  %-24s %s packet(s)\n", $7, $1}'

bold "Masquerade: one chain per ULA pod, none for the GUA pod"
ip netns exec "$node" ip6tables-save -t nat | grep -E '^(:CNI-|-A)' | sed 's/^/  /'

bold "DEL every pod"
for pod in pod1 pod2 gua; do
    conflist=$root/cni-conf/10-bridge6-ula.conflist
    [ "$pod" = gua ] && conflist=$root/cni-conf/20-bridge6-gua.conflist
    plugin DEL "$conflist" "$pod" && echo "  $pod deleted"
    ip netns del "$id-$pod"
done

bold "The node afterwards: bridges stay, no veth, no chain, no lease"
run ip -n "$node" -br link
echo "  nat rules: $(ip netns exec "$node" ip6tables-save -t nat | grep -c -- '^-A' || true)"
echo "  leases:    $(find "$data" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -path '*/.v6cni/*' ! -name '*.result' | wc -l)"
