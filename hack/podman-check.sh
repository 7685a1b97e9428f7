#!/usr/bin/env bash
# Real client: podman 4.3.1 with its CNI backend runs containers on bridge6 and ptp6 networks.
#
# Usage: hack/podman-check.sh PLUGIN_DIR        (needs root)
#
# Podman runs inside a node network namespace this script creates (`ip netns exec`), so its bridge,
# veths and NAT rules never reach the root namespace. Inside that namespace's private mount
# namespace the script re-mounts the cgroup hierarchies (ip netns exec hides them when it remounts
# /sys) and puts private mounts over /dev/shm (podman's lock segment), /run/netns (container
# namespaces) and /var/lib/cni (libcni's cache), so nothing podman writes is shared with the
# machine. Storage (vfs), runroot, tmpdir and the network config folder are private temp dirs; the
# image is a busybox rootfs imported from a tar (no registry). Containers go into a cgroup parent
# named with the PID, removed at the end.
#
# The bridge6 network is the one `podman network create` generates (bridge → portmap → firewall →
# tuning, cniVersion 0.4.0, capabilities {ips: true}) with bridge/host-local replaced by
# bridge6/host-local6; the ptp6 network is cni-conf/30-ptp6-ula.conflist. Checked on each: `podman
# run --rm` (address, gateway ping, nothing left), `podman run -d` (inspect, not tentative, pings
# both ways, rm, nothing left); then a static `--ip6`, one container on both networks (podman
# --network a,b: one multipath ::/0) and a published port (-p 8080:80 through portmap).
#
# Prints PASS/FAIL per check, then "N passed, N failed"; exits non-zero on any failure. If podman
# cannot run on this machine it prints SKIP with the reason and exits 0.
set -uo pipefail
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

pass() { passed=$((passed + 1)); echo "PASS $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
check() {
    local what=$1; shift
    local out
    if out=$("$@" 2>&1); then pass "$what"; return 0; fi
    fail "$what"
    [ -n "$out" ] && printf '%s\n' "$out" | head -20 | sed 's/^/    /'
    return 1
}

# ============================== inside the node namespace ========================================
inner() {
    passed=0
    failed=0
    # ip netns exec gave us a private mount namespace (slave of the root one) with a fresh /sys:
    # put the cgroup hierarchies back, as they are mounted outside.
    mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup || { echo "SKIP: cannot mount a tmpfs on /sys/fs/cgroup"; return 3; }
    local target fstype opts
    while read -r target fstype opts; do
        mkdir -p "$target"
        mount -t "$fstype" -o "$opts" "$fstype" "$target" || { echo "SKIP: cannot re-mount $fstype at $target ($opts)"; return 3; }
    done <"$work/cgroups"
    mount -t tmpfs -o mode=1777 v6cni-shm /dev/shm
    mount -t tmpfs -o mode=755 v6cni-netns /run/netns
    mkdir -p "$work/varlibcni"
    mount --bind "$work/varlibcni" /var/lib/cni
    ip link set lo up

    P=(podman --root "$work/storage" --runroot "$work/runroot" --tmpdir "$work/libpod" --storage-driver vfs)
    trap '"${P[@]}" rm -a -f -t 0 >/dev/null 2>&1' EXIT
    trap 'exit 130' INT TERM

    local info
    if ! info=$("${P[@]}" info --format '{{.Host.NetworkBackend}} {{.Host.CgroupManager}} {{.Host.OCIRuntime.Name}}' 2>&1); then
        echo "SKIP: podman cannot run here: $(tail -1 <<<"$info")"
        return 3
    fi
    check "podman $(podman --version | awk '{print $3}') runs in the node namespace ($info)" \
        grep -q "^cni cgroupfs runc" <<<"$info"

    # An image without a registry: busybox and a few links.
    local rootfs=$work/rootfs
    mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,run}
    cp /bin/busybox "$rootfs/bin/busybox"
    local l
    for l in sh ip ping sleep cat nc awk; do ln -s busybox "$rootfs/bin/$l"; done
    tar -C "$rootfs" -cf "$work/rootfs.tar" .
    check "podman import of a busybox rootfs (no registry)" "${P[@]}" import "$work/rootfs.tar" "$image"

    # The bridge6 network: podman's own generated conflist, plugin types swapped.
    local net_br=v6cni-bridge6 net_ptp=v6cni-ptp6
    if check "podman network create (CNI backend) writes its conflist" \
        "${P[@]}" network create --subnet fd42:7::/64 "$net_br"; then
        jq --arg d "$work/ipam" '
            .plugins[0].type = "bridge6" | .plugins[0].ipam.type = "host-local6" | .plugins[0].ipam.dataDir = $d
            | .plugins[0].ipam.ranges |= map(select(.[0].subnet | startswith("fd42:")))
            | .plugins[0].ipam.routes |= map(select(.dst | contains(":")))' \
            "$work/net/$net_br.conflist" >"$work/x" && mv "$work/x" "$work/net/$net_br.conflist"
        check "generated chain shape: bridge6 → portmap → firewall → tuning at 0.4.0, capabilities ips" \
            jq -e '.cniVersion == "0.4.0" and ([.plugins[].type] == ["bridge6","portmap","firewall","tuning"])
                   and .plugins[0].capabilities.ips == true' "$work/net/$net_br.conflist"
    fi
    jq --arg d "$work/ipam" --arg n "$net_ptp" '.name = $n | .plugins[0].ipam.dataDir = $d' \
        "$root/cni-conf/30-ptp6-ula.conflist" >"$work/net/$net_ptp.conflist"
    check "podman network ls lists both ($net_br: bridge6, $net_ptp: ptp6)" bash -c \
        '"${@:3}" network ls --format "{{.Name}} {{.Driver}}" | grep -qx "$1 bridge6" && "${@:3}" network ls --format "{{.Name}} {{.Driver}}" | grep -qx "$2 ptp6"' \
        _ "$net_br" "$net_ptp" "${P[@]}"

    local net
    for net in "$net_br" "$net_ptp"; do
        network_checks "$net"
    done
    # A requested address the way podman sends one (CNI_ARGS IP=, with IgnoreUnknown=1).
    local out
    check "$net_br: podman run --ip6 fd42:7::77 gets exactly that address" bash -c '
        out=$("${@:2}" run --rm --network "$1" --ip6 fd42:7::77 --cgroup-parent "$cgparent" "$image" ip -6 addr show eth0 scope global) || { echo "$out"; exit 1; }
        grep -q "inet6 fd42:7::77/64 " <<<"$out" || { echo "$out"; exit 1; }
        [ "$(grep -c "inet6 .* scope global" <<<"$out")" = 1 ] || { echo "$out"; exit 1; }' _ "$net_br" "${P[@]}"
    check "$net_br: nothing left after the --ip6 container" residue "$net_br"
    check "$net_ptp: podman run --ip6 fd42:3::77 gets exactly that address" bash -c '
        out=$("${@:2}" run --rm --network "$1" --ip6 fd42:3::77 --cgroup-parent "$cgparent" "$image" ip -6 addr show eth0 scope global) || { echo "$out"; exit 1; }
        grep -q "inet6 fd42:3::77/" <<<"$out" || { echo "$out"; exit 1; }' _ "$net_ptp" "${P[@]}"
    check "$net_ptp: nothing left after the --ip6 container" residue "$net_ptp"

    # One container on both networks (podman --network a,b): eth0 and eth1, each with a default
    # route, which the kernel merges into one multipath route, as with the reference plugins.
    both_networks "$net_br" "$net_ptp"

    # A published port: podman hands portMappings to portmap, which DNATs to our prevResult address.
    local pname=v6cni-$$-port
    if check "$net_br: podman run -d -p 8080:80" "${P[@]}" run -d --name "$pname" --network "$net_br" -p 8080:80 \
        --cgroup-parent "$cgparent" "$image" sh -c 'echo v6cni-hello | nc -l -p 80'; then
        check "$net_br: node → [fd42:7::1]:8080 reaches the container's port 80" bash -c '
            for i in 1 2 3 4 5 6; do out=$(busybox nc -w 2 fd42:7::1 8080 </dev/null 2>&1); [ "$out" = v6cni-hello ] && exit 0; sleep 0.5; done
            echo "got: $out"; ip6tables-save -t nat | grep -E "DNAT|CNI-DN|HOSTPORT"; exit 1'
    fi
    check "$net_br: podman rm -f (published port)" "${P[@]}" rm -f -t 0 "$pname"
    check "$net_br: nothing left after the published-port container (portmap rules too)" port_residue "$net_br"

    echo "$passed $failed" >"$work/counts"
}

# residue NET: after a container's removal nothing of it is left in the node.
residue() {
    local net=$1 problems=()
    local i
    for i in 1 2 3 4 5 6 7 8 9 10; do
        problems=()
        local v
        v=$(ip -o link show type veth | awk -F': ' '{print $2}')
        [ -n "$v" ] && problems+=("veth left in the node: $v")
        local nat
        nat=$(ip6tables-save 2>/dev/null | grep -E -- '^-A .*(fd42:|id: \\"[0-9a-f]{64}\\")')
        [ -n "$nat" ] && problems+=("firewall rules left: $nat")
        local leases
        leases=$(find "$work/ipam/$net" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -path '*/.v6cni/seen' ! -path '*/.v6cni/.spare-*' 2>/dev/null)
        [ -n "$leases" ] && problems+=("leases left: $leases")
        local cache
        cache=$(find /var/lib/cni -type f 2>/dev/null)
        [ -n "$cache" ] && problems+=("libcni cache left: $cache")
        local ns
        ns=$(ls -A /run/netns)
        [ -n "$ns" ] && problems+=("container netns left: $ns")
        local ctrs
        ctrs=$("${P[@]}" ps -aq)
        [ -n "$ctrs" ] && problems+=("containers left: $ctrs")
        ((${#problems[@]} == 0)) && return 0
        sleep 0.5
    done
    printf '%s\n' "${problems[@]}"
    return 1
}

both_networks() {
    local a=$1 b=$2 name=v6cni-$$-both
    if ! check "$a+$b: podman run -d --network $a,$b (two networks, both with ::/0)" \
        "${P[@]}" run -d --name "$name" --network "$a,$b" --cgroup-parent "$cgparent" "$image" sleep 300; then
        "${P[@]}" rm -f -t 0 "$name" >/dev/null 2>&1
        check "$a+$b: nothing left after the failed run" residue "$a"
        return
    fi
    local inspect sandbox addr_a addr_b gw_a
    inspect=$("${P[@]}" inspect "$name" --format '{{json .NetworkSettings}}')
    sandbox=$(jq -r '.SandboxKey' <<<"$inspect")
    addr_a=$(jq -r --arg n "$a" '.Networks[$n].GlobalIPv6Address' <<<"$inspect")
    addr_b=$(jq -r --arg n "$b" '.Networks[$n].GlobalIPv6Address' <<<"$inspect")
    gw_a=$(jq -r --arg n "$a" '.Networks[$n].IPv6Gateway' <<<"$inspect")
    check "$a+$b: podman inspect reports an address on each ($addr_a, $addr_b)" \
        bash -c '[[ $1 == fd42:7::* && $2 == fd42:3::* ]]' _ "$addr_a" "$addr_b"
    local routes
    routes=$(nsenter --net="$sandbox" ip -6 route show default)
    check "$a+$b: one multipath default route through both interfaces" bash -c \
        '[ "$(grep -c "nexthop via" <<<"$1")" = 2 ] || { echo "$1"; exit 1; }' _ "$routes"
    local if_b
    if_b=$(nsenter --net="$sandbox" ip -6 -o addr show | awk -v a="$addr_b" 'index($0, " " a "/") {print $2}')
    check "$a+$b: the container pings $gw_a on $a" "${P[@]}" exec "$name" ping -c1 -W2 "$gw_a"
    check "$a+$b: the container pings fe80::1%$if_b on $b" "${P[@]}" exec "$name" ping -c1 -W2 "fe80::1%$if_b"
    check "$a+$b: node → both addresses" bash -c 'ping -n -c1 -W2 "$1" && ping -n -c1 -W2 "$2"' _ "$addr_a" "$addr_b"
    check "$a+$b: podman rm -f" "${P[@]}" rm -f -t 0 "$name"
    residue_both "$a" "$b"
}

residue_both() {
    local out
    if out=$(residue "$1" 2>&1) && out=$(residue "$2" 2>&1); then pass "$1+$2: no veth, chain, lease, cache or netns left"; return; fi
    fail "$1+$2: no veth, chain, lease, cache or netns left"
    printf '%s\n' "$out" | head -20 | sed 's/^/    /'
}

port_residue() {
    residue "$1" || return 1
    local d
    d=$(ip6tables-save -t nat | grep -E -- "^-A CNI-DN|--dport 8080")
    [ -z "$d" ] || { echo "portmap rules left: $d"; return 1; }
}

network_checks() {
    local net=$1
    local out rc
    # 1. podman run --rm: the address from our plugin, the gateway answers, then nothing is left.
    out=$("${P[@]}" run --rm --network "$net" --cgroup-parent "$cgparent" "$image" sh -c '
        ip -6 addr show eth0 scope global
        gw=$(ip -6 route show default | awk "{print \$3; exit}")
        echo "GW=$gw"
        ping -c1 -W2 "$gw" >/dev/null && echo PING=ok' 2>&1)
    rc=$?
    check "$net: podman run --rm exits 0" bash -c '[ "$1" = 0 ] || { echo "$2"; exit 1; }' _ "$rc" "$out"
    check "$net: the container has an fd42: address from our plugin" bash -c \
        'grep -qE "inet6 fd42:[0-9a-f:]+/[0-9]+ " <<<"$1" || { echo "$1"; exit 1; }' _ "$out"
    check "$net: the container pings its gateway $(sed -n 's/^GW=//p' <<<"$out")" bash -c \
        'grep -q "^PING=ok" <<<"$1" || { echo "$1"; exit 1; }' _ "$out"
    check "$net: after --rm nothing is left (veth, chain, lease, cache, netns)" residue "$net"

    # 2. A detached container: podman inspect, addresses not tentative, both directions.
    local name=v6cni-$$-$net
    if ! check "$net: podman run -d" "${P[@]}" run -d --name "$name" --network "$net" --cgroup-parent "$cgparent" "$image" sleep 300; then
        "${P[@]}" rm -f -t 0 "$name" >/dev/null 2>&1
        return
    fi
    local inspect addr plen gw sandbox
    inspect=$("${P[@]}" inspect "$name" --format '{{json .NetworkSettings}}')
    addr=$(jq -r --arg n "$net" '.Networks[$n].GlobalIPv6Address' <<<"$inspect")
    plen=$(jq -r --arg n "$net" '.Networks[$n].GlobalIPv6PrefixLen' <<<"$inspect")
    gw=$(jq -r --arg n "$net" '.Networks[$n].IPv6Gateway' <<<"$inspect")
    sandbox=$(jq -r '.SandboxKey' <<<"$inspect")
    check "$net: podman inspect reports $addr/$plen, the container's address" bash -c '
        [[ "$1" == fd42:* ]] || { echo "inspect: $1"; exit 1; }
        "${@:4}" exec "$3" ip -6 addr show eth0 scope global | grep -q "inet6 $1/$2 " || { echo "container: $("${@:4}" exec "$3" ip -6 addr show eth0)"; exit 1; }' \
        _ "$addr" "$plen" "$name" "${P[@]}"
    check "$net: $addr is not tentative in the container" bash -c '
        out=$(nsenter --net="$1" ip -6 addr show dev eth0 tentative); [ -z "$out" ] || { echo "$out"; exit 1; }' _ "$sandbox"
    if [ -n "$gw" ] && [ "$gw" != null ]; then
        check "$net: container → gateway $gw (podman exec ping)" "${P[@]}" exec "$name" ping -c1 -W2 "$gw"
    fi
    check "$net: node → container $addr (first packet)" ping -n -c1 -W2 "$addr"
    # podman restart: DEL then ADD with the same container ID; one lease, one chain, still reachable.
    if check "$net: podman restart" "${P[@]}" restart -t 0 "$name"; then
        local addr2
        addr2=$("${P[@]}" inspect "$name" --format "{{(index .NetworkSettings.Networks \"$net\").GlobalIPv6Address}}")
        check "$net: after restart: $addr2 answers the node, one lease and one masquerade chain" bash -c '
            ping -n -c1 -W2 "$1" >/dev/null || { echo "$1 does not answer"; exit 1; }
            l=$(find "$2" -maxdepth 1 -type f -name "fd42:*" | wc -l); [ "$l" = 1 ] || { echo "$l leases: $(ls "$2")"; exit 1; }
            c=$(ip6tables-save -t nat | grep -c -- "^-A POSTROUTING .*-s $1/128"); [ "$c" = 1 ] || { echo "$c POSTROUTING rules for $1"; ip6tables-save -t nat; exit 1; }' \
            _ "$addr2" "$work/ipam/$net"
    fi
    check "$net: podman rm -f" "${P[@]}" rm -f -t 0 "$name"
    check "$net: after rm nothing is left (veth, chain, lease, cache, netns)" residue "$net"
}

if [ "${1:-}" = --inner ]; then
    inner
    exit $?
fi

# ============================== outside: set up, run inside, clean up ===========================
root=$(cd "$(dirname "$0")/.." && pwd)
self=$root/hack/$(basename "$0")
if [ $# -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 PLUGIN_DIR" >&2
    exit 2
fi
plugin_dir=$(cd "$1" && pwd)
ref_dir=${REFERENCE_DIR:-/usr/lib/cni}
passed=0
failed=0
started=$(date +%s)

skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 0; }
[ "$(id -u)" = 0 ] || skip "podman-check needs root"

"$root/hack/deps.sh" podman || fail "could not install the Debian packages podman-check needs"
for p in bridge6 ptp6 host-local6; do
    [ -x "$plugin_dir/$p" ] || fail "$p is missing from $plugin_dir"
done

tag=v6podman-$$
work=$(mktemp -d "/tmp/$tag.XXXXXX")
NODE=$tag-node
cgparent=/$tag
image=localhost/v6cni-busybox:$$
made_var_lib_cni=0

inner_pid=
cleanup() {
    # The checks inside the node namespace (they remove their containers on the way out).
    if [ -n "$inner_pid" ]; then
        kill -TERM "$inner_pid" 2>/dev/null
        wait "$inner_pid" 2>/dev/null
    fi
    # Processes left in our cgroup parent (a container or conmon that outlived podman), by PID.
    local f pid
    for f in $(find /sys/fs/cgroup -path "*/$tag/*" -name cgroup.procs 2>/dev/null); do
        while read -r pid; do [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; done <"$f"
    done
    ip netns del "$NODE" 2>/dev/null
    local d
    for d in /sys/fs/cgroup/*/"$tag"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    if [ "$made_var_lib_cni" = 1 ]; then rmdir /var/lib/cni 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The cgroup hierarchies as mounted here, to re-mount inside.
findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,OPTIONS >"$work/cgroups"
# libcni's cache folder gets a private bind mount inside; the mount point must exist. (Made here
# only if missing, and removed again if still empty.)
if [ ! -e /var/lib/cni ]; then mkdir -p /var/lib/cni && made_var_lib_cni=1; fi
mkdir -p "$work/net" "$work/tmp" "$work/ipam"
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[network]
network_backend = "cni"
cni_plugin_dirs = ["$plugin_dir", "$ref_dir"]
network_config_dir = "$work/net"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
image_copy_tmp_dir = "$work/tmp"
EOF

root_links_before=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort)
ip netns add "$NODE" || skip "cannot create a network namespace"
# In the background and waited for, so that a signal reaches this script at once; cleanup stops it.
ip netns exec "$NODE" env CONTAINERS_CONF="$work/containers.conf" TMPDIR="$work/tmp" \
    root="$root" work="$work" cgparent="$cgparent" image="$image" \
    bash "$self" --inner &
inner_pid=$!
wait "$inner_pid"
rc=$?
inner_pid=
if [ "$rc" = 3 ]; then
    echo "0 passed, 0 failed"
    exit 0
fi
if [ -f "$work/counts" ]; then
    read -r p f <"$work/counts"
    passed=$((passed + p))
    failed=$((failed + f))
else
    fail "the checks inside the node namespace did not finish (exit $rc)"
fi
# Outside: the root namespace saw nothing.
root_links_after=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//' | sort)
check "root namespace: no new link (podman's bridge and veths stayed in the node)" bash -c '
    new=$(comm -13 <(printf "%s\n" "$1") <(printf "%s\n" "$2") | grep -E "^(cni-podman|veth)"); [ -z "$new" ] || { echo "$new"; exit 1; }' \
    _ "$root_links_before" "$root_links_after" || true
if [ "$made_var_lib_cni" = 1 ]; then
    check "root namespace: /var/lib/cni untouched (libcni cache was private)" bash -c '[ -z "$(ls -A /var/lib/cni)" ]' || true
fi

echo "podman-check: $(podman --version), plugins from $plugin_dir, $(($(date +%s) - started))s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
