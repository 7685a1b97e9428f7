#!/usr/bin/env bash
# v6cni against the reference plugins (containernetworking-plugins, /usr/lib/cni) and the kernel
# floor, side by side, in network namespaces this script creates and removes.
#
# Usage: hack/bench.sh [--quick] [--write]
#   --quick   a few pods per row, scaling rows up to 100 pods (CI; about 2.5 minutes)
#   --write   also write the table into docs/benchmarks.md (between the bench markers)
# Environment: V6CNI_BIN (default out/bin), V6CNI_REFERENCE_BIN (default /usr/lib/cni),
#   BENCH_ROWS (default "A B C D": the scenarios to run), BENCH_SAMPLES (override the sample count).
#
# Safety: everything happens in namespaces named v6b<pid>-… (node and pods); nothing is changed in
# the root namespace. The plugins are started in the node namespace by a tiny runner (setns + spawn,
# hack/bench/nsrun.c) that also times them. Prefixes: fd42:b::/32 and 2001:db8:b::/48 only.
# Everything created (namespaces, files, processes) is removed on exit.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
quick=0; write=0
for a in "$@"; do
    case $a in
        --quick) quick=1 ;;
        --write) write=1 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option $a" >&2; exit 2 ;;
    esac
done
[[ $(id -u) == 0 ]] || { echo "bench.sh needs root (network namespaces)" >&2; exit 1; }
for tool in ip ip6tables-restore ip6tables-save ping gcc awk; do
    command -v "$tool" >/dev/null || { echo "bench.sh needs $tool (hack/deps.sh test)" >&2; exit 1; }
done
[[ -x /usr/bin/time ]] || { echo "bench.sh needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C

declare -A BIN=([ours]=${V6CNI_BIN:-$root/out/bin} [ref]=${V6CNI_REFERENCE_BIN:-/usr/lib/cni})
for impl in ours ref; do
    [[ -x ${BIN[$impl]}/host-local6 || -x ${BIN[$impl]}/host-local ]] || { echo "no plugins in ${BIN[$impl]} (hack/build.sh)" >&2; exit 1; }
done

tag=v6b$$
work=$(mktemp -d "/tmp/v6cni-bench.$$.XXXX")
started=$EPOCHREALTIME
declare -a bg_pids=()

cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
    ip netns list 2>/dev/null | awk -v t="$tag-" 'index($1, t) == 1 { print "netns del " $1 }' > "$work/cleanup.batch" 2>/dev/null
    [[ -s $work/cleanup.batch ]] && ip -force -batch "$work/cleanup.batch" >/dev/null 2>&1
    rm -rf "$work"
    if [[ ${files:-$work} != "$work" ]]; then rm -rf "$files"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

gcc -O2 -Wall -o "$work/nsrun" "$root/hack/bench/nsrun.c" || { echo "cannot build hack/bench/nsrun.c" >&2; exit 1; }
nsrun=$work/nsrun
# The harness's own files (each call's input, output and timing) go to a tmpfs when there is one:
# creating them on ext4 (ext4_create → recently_deleted) slowed 8-way B ADDs from 233 to 193 pods/s
# (ours) and from 64 to 56 (the reference's), a cost no runtime has: it reads a plugin's stdout from
# a pipe. The lease stores ($work/data) stay on the disk, where a node keeps them.
mkdir -p "$work/data"
files=$work
if [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]] && shm=$(mktemp -d "/dev/shm/v6cni-bench.$$.XXXX"); then
    files=$shm
    ln -s "$files/res" "$work/res" && ln -s "$files/out" "$work/out"
fi
mkdir -p "$files/res" "$files/out"

# ---------------------------------------------------------------- parameters
if ((quick)); then
    samples=4; fresh=1; tp_pods=24; tp_runs=1; scale_sizes=(10 100); scale_samples=3; floor_samples=4
else
    samples=20; fresh=5; tp_pods=200; tp_runs=3; scale_sizes=(10 100 1000); scale_samples=10; floor_samples=20
fi
samples=${BENCH_SAMPLES:-$samples}
rows=${BENCH_ROWS:-A B C D}

have_ptp6=0
if [[ -x ${BIN[ours]}/ptp6 ]] && CNI_COMMAND=VERSION "${BIN[ours]}/ptp6" </dev/null 2>/dev/null | grep -q supportedVersions; then
    have_ptp6=1
fi

# ---------------------------------------------------------------- helpers
log() { printf '[%6.1fs] %s\n' "$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN{print b-a}')" "$*" >&2; }

ns_batch() {  # add|del NAME...  (one `ip -batch` for many namespaces)
    local verb=$1; shift
    local f=$work/ns.batch
    printf "netns $verb %s\n" "$@" > "$f"
    ip -force -batch "$f" >/dev/null 2>&1
}

new_node() {  # NAME: a fresh node namespace with lo up
    ip netns add "$1" && ip -n "$1" link set lo up
}

# Scenario definitions: the plugin configuration (same for both, only the types differ).
declare -A S_EXE S_SUBNET S_GW S_KIND
S_KIND[A]=bridge; S_SUBNET[A]=fd42:b:a::/64;     S_GW[A]=fd42:b:a::1
S_KIND[B]=bridge; S_SUBNET[B]=2001:db8:b:b::/64; S_GW[B]=2001:db8:b:b::1
S_KIND[C]=ptp;    S_SUBNET[C]=fd42:b:c::/64;     S_GW[C]=fd42:b:c::1
S_KIND[D]=ipam;   S_SUBNET[D]=fd42:b:d::/64;     S_GW[D]=
declare -A S_TITLE=([A]="A: bridge + host-local, ULA, ipMasq" [B]="B: bridge + host-local, GUA, no NAT"
                    [C]="C: ptp + host-local, ULA, ipMasq" [D]="D: host-local alone (IPAM call)")

exe_of() {  # SCENARIO IMPL → executable path
    local s=$1 impl=$2 sfx=""; [[ $impl == ours ]] && sfx=6
    case ${S_KIND[$s]} in
        bridge) echo "${BIN[$impl]}/bridge$sfx" ;;
        ptp) echo "${BIN[$impl]}/ptp$sfx" ;;
        ipam) echo "${BIN[$impl]}/host-local$sfx" ;;
    esac
}

write_conf() {  # SCENARIO IMPL DATADIR FILE
    local s=$1 impl=$2 dir=$3 file=$4 sfx="" net
    [[ $impl == ours ]] && sfx=6
    net=bench-${s,,}
    local ipam="\"ipam\":{\"type\":\"host-local$sfx\",\"dataDir\":\"$dir\",\"ranges\":[[{\"subnet\":\"${S_SUBNET[$s]}\"}]]"
    case $s in
        A) echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$net\",\"type\":\"bridge$sfx\",\"bridge\":\"cni6b\",\"isDefaultGateway\":true,\"ipMasq\":true,$ipam}}" ;;
        B) echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$net\",\"type\":\"bridge$sfx\",\"bridge\":\"cni6b\",\"isDefaultGateway\":true,\"ipMasq\":false,$ipam}}" ;;
        C) echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$net\",\"type\":\"ptp$sfx\",\"ipMasq\":true,$ipam,\"routes\":[{\"dst\":\"::/0\"}]}}" ;;
        D) echo "{\"cniVersion\":\"1.0.0\",\"name\":\"$net\",$ipam}}" ;;
    esac > "$file"
}

# call SCENARIO IMPL VERB NODE POD CID OUTFILE [ping]  → prints "µs rc rssKB ping"
# DEL gets the ADD result as prevResult, as libcni passes its cached result.
call() {
    local s=$1 impl=$2 verb=$3 node=$4 pod=$5 cid=$6 out=$7 ping=${8:-}
    local conf=$work/conf.$node in=$work/conf.$node
    if [[ $verb == DEL && -s $out ]]; then
        in=$out.del
        local c; c=$(<"$conf")
        printf '%s,"prevResult":%s}\n' "${c%\}}" "$(<"$out")" > "$in"
    fi
    local pingargs=()
    [[ -n $ping && ${S_KIND[$s]} != ipam ]] && pingargs=(-p "/run/netns/$pod" -g @)  # the result's gateway
    local o=$out; [[ $verb == DEL ]] && o=$out.delout
    CNI_COMMAND=$verb CNI_CONTAINERID=$cid CNI_NETNS=/run/netns/$pod CNI_IFNAME=eth0 CNI_PATH=${BIN[$impl]} \
        "$nsrun" -n "/run/netns/$node" -i "$in" -o "$o" -e "$o.err" "${pingargs[@]}" -- "$(exe_of "$s" "$impl")"
}

# record KEY IMPL LINE: keeps µs, and counts failures / pings.
record() {
    local key=$1 impl=$2; shift 2
    local us rc rss ping cpu
    read -r us rc rss ping cpu <<<"$*"
    if [[ $rc == 0 ]]; then
        echo "$us" >> "$work/res/$key.$impl"; echo "$cpu" >> "$work/res/$key.$impl.cpu"
    else
        echo 1 >> "$work/res/$key.$impl.fail"
    fi
    [[ $ping != - ]] && echo "$ping" >> "$work/res/$key.$impl.ping"
    echo "$rss" >> "$work/res/$key.$impl.rss"
}

order() {  # i → "ours ref" or "ref ours" (alternating which goes first)
    if (($1 % 2)); then echo "ours ref"; else echo "ref ours"; fi
}

# stats FILE → "median p90 min max n" in ms
stats() {
    [[ -s $1 ]] || { echo "- - - - 0"; return; }
    sort -n "$1" | awk '{v[NR]=$1} END {
        n=NR; med=(n%2)?v[(n+1)/2]:(v[n/2]+v[n/2+1])/2; i=int(0.9*n); if (i<0.9*n) i++; if (i<1) i=1
        printf "%.2f %.2f %.2f %.2f %d\n", med/1000, v[i]/1000, v[1]/1000, v[n]/1000, n }'
}
median() { stats "$1" | cut -d' ' -f1; }
fmt_ms() {  # FILE → "12.3 ms (p90 14.0, 11.0–19.2, n=20)"
    local med p90 mn mx n fails=0
    read -r med p90 mn mx n < <(stats "$1")
    [[ -s $1.fail ]] && fails=$(wc -l < "$1.fail")
    if [[ $n == 0 ]]; then echo "– (failed ×$fails)"; return; fi
    local f=""; ((fails)) && f=", **$fails failed**"
    printf '%s ms (p90 %s, %s–%s, n=%s%s)' "$(num "$med")" "$(num "$p90")" "$(num "$mn")" "$(num "$mx")" "$n" "$f"
}
num() { awk -v x="$1" 'BEGIN { if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else printf "%.2f", x }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "–"; else printf "%.2f", a / b }'; }
verdict() {  # VALUE OP LIMIT → yes/NO
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { if (v == "–" || v == "-") { print "?"; exit }
        ok = (op == "le") ? (v <= l) : (v >= l); print ok ? "yes" : "**NO**" }'
}
pct() {  # ping file → "100 % (20/20)"
    [[ -s $1 ]] || { echo "–"; return; }
    awk '{n++; s+=$1} END { printf "%.0f %% (%d/%d)", 100*s/n, s, n }' "$1"
}

table=$work/table.md
row() { printf '| %s |\n' "$(IFS='|'; echo "$*" | sed 's/|/ | /g')" >> "$table"; }

# Leftovers in a node: links other than lo and the bridge, lease files, index files, nat jumps.
leftovers() {  # NODE DATADIR
    local links leases rules
    links=$(ip -n "$1" -o link show 2>/dev/null | awk -F': ' '$2 != "lo" && $2 !~ /^cni6b/' | wc -l)
    leases=$(find "$2" -type f ! -name lock ! -name 'last_reserved_ip.*' ! -name seen ! -name '.spare-*' 2>/dev/null | wc -l)
    rules=$("$nsrun" -n "/run/netns/$1" -o "$work/save.txt" -- ip6tables-save -t nat >/dev/null; grep -c -- '-j CNI-' "$work/save.txt")
    echo $((links + leases + rules))
}

# ---------------------------------------------------------------- phases
pod_seq=0
new_pods() {  # COUNT → names in $pods (created in one batch)
    pods=()
    local i
    for ((i = 0; i < $1; i++)); do pod_seq=$((pod_seq + 1)); pods+=("$tag-p$pod_seq"); done
    ns_batch add "${pods[@]}"
}

# First pod on a fresh node (the bridge is new): ADD time and whether ping works at once.
phase_fresh() {
    local s=$1 k impl node
    for ((k = 1; k <= fresh; k++)); do
        new_pods 2
        local idx=0
        for impl in $(order "$k"); do
            node=$tag-f$s$k$impl
            new_node "$node"
            write_conf "$s" "$impl" "$work/data/$node" "$work/conf.$node"
            record "$s.first" "$impl" "$(call "$s" "$impl" ADD "$node" "${pods[$idx]}" "first$k" "$work/out/$node.first" ping)"
            idx=$((idx + 1))
            ip netns del "$node"; rm -rf "$work/data/$node"
        done
        ns_batch del "${pods[@]}"
    done
}

# ADD (with a ping right after) and DEL latency over fresh pods, alternating implementations.
phase_latency() {
    local s=$1 i impl
    declare -A node=([ours]=$tag-$s-ours [ref]=$tag-$s-ref)
    for impl in ours ref; do
        new_node "${node[$impl]}"
        write_conf "$s" "$impl" "$work/data/${node[$impl]}" "$work/conf.${node[$impl]}"
    done
    new_pods $((2 * samples + 4))
    # warm-up (bridge, nat table and lease directory exist from here on)
    local p=0
    for impl in ours ref; do
        call "$s" "$impl" ADD "${node[$impl]}" "${pods[$p]}" warm "$work/out/$s.$impl.warm" >/dev/null
        call "$s" "$impl" DEL "${node[$impl]}" "${pods[$p]}" warm "$work/out/$s.$impl.warm" >/dev/null
        p=$((p + 1))
    done
    declare -A podof=()
    for ((i = 1; i <= samples; i++)); do
        for impl in $(order "$i"); do
            podof[$impl.$i]=${pods[$p]}; p=$((p + 1))
            record "$s.add" "$impl" "$(call "$s" "$impl" ADD "${node[$impl]}" "${podof[$impl.$i]}" "c$i" "$work/out/$s.$impl.$i" ping)"
        done
    done
    for ((i = 1; i <= samples; i++)); do
        for impl in $(order "$i"); do
            record "$s.del" "$impl" "$(call "$s" "$impl" DEL "${node[$impl]}" "${podof[$impl.$i]}" "c$i" "$work/out/$s.$impl.$i")"
        done
    done
    # peak RSS of one ADD (plugin and its children), as /usr/bin/time -f %M reports it
    for impl in ours ref; do
        local pod=${pods[$p]}; p=$((p + 1))
        CNI_COMMAND=ADD CNI_CONTAINERID=rss CNI_NETNS=/run/netns/$pod CNI_IFNAME=eth0 CNI_PATH=${BIN[$impl]} \
            "$nsrun" -n "/run/netns/${node[$impl]}" -i "$work/conf.${node[$impl]}" -o "$work/out/$s.$impl.rss" \
            -- /usr/bin/time -f %M -o "$work/res/$s.rss.$impl" "$(exe_of "$s" "$impl")" >/dev/null
        call "$s" "$impl" DEL "${node[$impl]}" "$pod" rss "$work/out/$s.$impl.rss" >/dev/null
    done
    for impl in ours ref; do
        echo "$(leftovers "${node[$impl]}" "$work/data/${node[$impl]}")" > "$work/res/$s.left.$impl"
    done
    ns_batch del "${pods[@]}" "${node[@]}"
}

# N pods, ADD all then DEL all, with W workers; pods/s, duplicates, leftovers. Each worker is one
# long-lived runner (nsrun -b) that starts the plugin for its pods one after another, as a
# runtime's daemon does: no shell or runner start per call in the timed part, for either side.
tp_run() {  # SCENARIO IMPL WORKERS NODE
    local s=$1 impl=$2 w=$3 node=$4 j i
    local key=$s.tp$w.$impl conf=$work/conf.$node exe
    exe=$(exe_of "$s" "$impl")
    rm -f "$work/res/$key".*
    for ((j = 0; j < w; j++)); do
        for ((i = j; i < tp_pods; i += w)); do
            echo "t$w-$i /run/netns/${pods[$i]} $conf $work/out/$key.$i"
        done > "$work/res/$key.addlist$j"
    done
    local t0=$EPOCHREALTIME
    bg_pids=()
    for ((j = 0; j < w; j++)); do
        CNI_COMMAND=ADD CNI_IFNAME=eth0 CNI_PATH=${BIN[$impl]} \
            "$nsrun" -n "/run/netns/$node" -b "$work/res/$key.addlist$j" -- "$exe" > "$work/res/$key.addw$j" &
        bg_pids+=($!)
    done
    wait "${bg_pids[@]}"
    local t1=$EPOCHREALTIME
    # DEL gets each ADD's result as prevResult; the inputs are written before the timing starts.
    local c
    c=$(<"$conf")
    for ((j = 0; j < w; j++)); do
        for ((i = j; i < tp_pods; i += w)); do
            printf '%s,"prevResult":%s}\n' "${c%\}}" "$(<"$work/out/$key.$i")" > "$work/out/$key.$i.del"
            echo "t$w-$i /run/netns/${pods[$i]} $work/out/$key.$i.del $work/out/$key.$i.delout"
        done > "$work/res/$key.dellist$j"
    done
    local t1d=$EPOCHREALTIME
    bg_pids=()
    for ((j = 0; j < w; j++)); do
        CNI_COMMAND=DEL CNI_IFNAME=eth0 CNI_PATH=${BIN[$impl]} \
            "$nsrun" -n "/run/netns/$node" -b "$work/res/$key.dellist$j" -- "$exe" > "$work/res/$key.delw$j" &
        bg_pids+=($!)
    done
    wait "${bg_pids[@]}"
    bg_pids=()
    local t2=$EPOCHREALTIME
    local fails dups left
    fails=$(cat "$work/res/$key".addw* "$work/res/$key".delw* | awk '$2 != 0' | wc -l)
    dups=$(for ((i = 0; i < tp_pods; i++)); do cat "$work/out/$key.$i" 2>/dev/null; done \
        | grep -o '"address": *"[^"]*"' | sort | uniq -d | wc -l)
    left=$(leftovers "$node" "$work/data/$node")
    awk -v n="$tp_pods" -v a="$t0" -v b="$t1" -v bd="$t1d" -v c="$t2" -v f="$fails" -v d="$dups" -v l="$left" \
        'BEGIN { printf "%.1f %.1f %d %d %d\n", n / (b - a), n / (c - bd), f, d, l }' > "$work/res/$key"
}

phase_throughput() {
    local s=$1 impl w
    declare -A node=([ours]=$tag-$s-tours [ref]=$tag-$s-tref)
    for impl in ours ref; do
        new_node "${node[$impl]}"
        write_conf "$s" "$impl" "$work/data/${node[$impl]}" "$work/conf.${node[$impl]}"
    done
    new_pods "$tp_pods"
    for impl in ours ref; do  # warm-up: bridge and nat table exist
        call "$s" "$impl" ADD "${node[$impl]}" "${pods[0]}" warm "$work/out/$s.t.$impl.warm" >/dev/null
        call "$s" "$impl" DEL "${node[$impl]}" "${pods[0]}" warm "$work/out/$s.t.$impl.warm" >/dev/null
    done
    local runs r
    for w in 1 8; do
        runs=1; ((w > 1)) && runs=$tp_runs
        for impl in ours ref; do rm -f "$work/res/$s.runs-tp$w.$impl"; done
        for ((r = 1; r <= runs; r++)); do
            for impl in $(order "$r"); do
                log "  $s throughput, $tp_pods pods, $w at a time: $impl (run $r of $runs)"
                tp_run "$s" "$impl" "$w" "${node[$impl]}"
                cat "$work/res/$s.tp$w.$impl" >> "$work/res/$s.runs-tp$w.$impl"
            done
        done
        # One line per implementation: median ADD and DEL pods/s over the runs, failures,
        # duplicates and leftovers summed.
        for impl in ours ref; do
            local f=$work/res/$s.runs-tp$w.$impl mid
            mid=$(( ($(wc -l < "$f") + 1) / 2 ))
            printf '%s %s %s\n' "$(cut -d' ' -f1 "$f" | sort -g | sed -n "${mid}p")" \
                "$(cut -d' ' -f2 "$f" | sort -g | sed -n "${mid}p")" \
                "$(awk '{ f += $3; u += $4; l += $5 } END { print f, u, l }' "$f")" > "$work/res/$s.tp$w.$impl"
        done
    done
    ns_batch del "${pods[@]}" "${node[@]}"
}

# ADD and DEL with M pods already attached (each in its own namespace), M = 10, 100, 1000: one node
# per size and implementation, all filled first; then the samples go round the sizes and alternate
# the implementations, so every size is measured under the same load of a shared machine (taken one
# size after another, minutes apart, the rows differed by more than the nodes did).
fill() {  # SCENARIO IMPL NODE FROM TO OFFSET: ADD pods spods[OFFSET+FROM..OFFSET+TO) with 8 workers
    local s=$1 impl=$2 node=$3 from=$4 to=$5 off=$6 j
    bg_pids=()
    for ((j = 0; j < 8; j++)); do
        ( for ((i = from + j; i < to; i += 8)); do
              call "$s" "$impl" ADD "$node" "${spods[$((off + i))]}" "s$i" "$work/out/$node.s$i"
          done >> "$work/res/$s.fill.$impl" ) &
        bg_pids+=($!)
    done
    wait "${bg_pids[@]}"
    bg_pids=()
}

rotated() {  # K ITEM... → the items starting from the K-th (mod count), one per line
    local k=$1 j; shift
    local items=("$@")
    for ((j = 0; j < ${#items[@]}; j++)); do echo "${items[$(((k + j) % ${#items[@]}))]}"; done
}

phase_scale() {
    local s=$1 impl m i off=0 total=0
    declare -A node
    for m in "${scale_sizes[@]}"; do total=$((total + m)); done
    new_pods $((2 * total)); spods=("${pods[@]}")
    new_pods $((2 * scale_samples * ${#scale_sizes[@]})); local extra=("${pods[@]}") e=0
    for m in "${scale_sizes[@]}"; do
        for impl in ours ref; do
            node[$impl.$m]=$tag-$s-s$m$impl
            new_node "${node[$impl.$m]}"
            write_conf "$s" "$impl" "$work/data/${node[$impl.$m]}" "$work/conf.${node[$impl.$m]}"
            local t0=$EPOCHREALTIME
            fill "$s" "$impl" "${node[$impl.$m]}" 0 "$m" "$off"
            off=$((off + m))
            log "  $s: $impl node filled to $m pods ($(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}') s)"
        done
    done
    for ((i = 1; i <= scale_samples; i++)); do
        for m in $(rotated "$i" "${scale_sizes[@]}"); do
            for impl in $(order "$i"); do
                local pod=${extra[$e]}; e=$((e + 1))
                record "$s.add@$m" "$impl" "$(call "$s" "$impl" ADD "${node[$impl.$m]}" "$pod" "x$m-$i" "$work/out/$s.x.$impl.$m.$i")"
                record "$s.del@$m" "$impl" "$(call "$s" "$impl" DEL "${node[$impl.$m]}" "$pod" "x$m-$i" "$work/out/$s.x.$impl.$m.$i")"
            done
        done
    done
    ns_batch del "${spods[@]}" "${extra[@]}" "${node[@]}"
}

# Kernel floor: the same attach (veth with one queue each way and its peer born in the pod, port of
# the bridge, up; NODAD address, up, default route in the pod) as two `ip -batch` files, one per
# namespace; one
# ip6tables-restore with the masquerade chain of one pod; the veth delete alone. A node with M > 0
# has M pods attached the same way first (in bulk, not timed): how much the kernel and ip6tables
# themselves slow down with a full node, the floor for "ADD with M pods attached". As for the
# scaling rows, the nodes of all sizes exist together and the samples go round them.
floor_node() {  # M → node $tag-floor$M, a bridge with M pods attached (their names added to floor_pods)
    local m=$1 node=$tag-floor$1 j
    new_node "$node"
    printf 'link add cni6b type bridge\naddr add fd42:b:f::1/64 dev cni6b nodad\nlink set cni6b up\n' > "$work/floor0"
    ip -n "$node" -batch "$work/floor0"
    ((m > 0)) || return 0
    new_pods "$m"; local attached=("${pods[@]}")
    floor_pods+=("${attached[@]}")
    : > "$work/floorpre1"; printf '*nat\n' > "$work/floorpre3"
    for ((j = 1; j <= m; j++)); do
        printf 'link add vethp%d numtxqueues 1 numrxqueues 1 type veth peer name eth0 numtxqueues 1 numrxqueues 1 netns %s\nlink set vethp%d master cni6b up\n' "$j" "${attached[$((j - 1))]}" "$j" >> "$work/floorpre1"
        local pchain; pchain=CNI-$(printf 'floorpre%016d' "$j")
        printf ':%s - [0:0]\n-A %s -d fc00::/7 -j ACCEPT\n-A %s -d ff00::/8 -j ACCEPT\n-A %s -j MASQUERADE\n-A POSTROUTING -s fd42:b:f::1:%x/128 -j %s\n' \
            "$pchain" "$pchain" "$pchain" "$pchain" "$j" "$pchain" >> "$work/floorpre3"
    done
    printf 'COMMIT\n' >> "$work/floorpre3"
    ip -n "$node" -batch "$work/floorpre1"
    for ((j = 1; j <= m; j++)); do
        printf 'addr add fd42:b:f::1:%x/64 dev eth0 nodad\nlink set eth0 up\nroute add default via fd42:b:f::1 dev eth0\n' "$j" \
            | ip -n "${attached[$((j - 1))]}" -batch -
    done
    ip netns exec "$node" ip6tables-restore --noflush -w < "$work/floorpre3"
}

floor_attach() {  # M I POD: one timed attach (and masquerade) of POD on node M
    local m=$1 i=$2 pod=$3 node=$tag-floor$1 a b c ping
    printf 'link add vethf%d numtxqueues 1 numrxqueues 1 type veth peer name eth0 numtxqueues 1 numrxqueues 1 netns %s\nlink set vethf%d master cni6b up\n' "$i" "$pod" "$i" > "$work/floor1.$i"
    printf 'addr add fd42:b:f::%x/64 dev eth0 nodad\nlink set eth0 up\nroute add default via fd42:b:f::1 dev eth0\n' $((i + 1)) > "$work/floor2.$i"
    local chain; chain=CNI-$(printf 'floor%019d' "$i")
    printf '*nat\n:%s - [0:0]\n-A %s -d fc00::/7 -j ACCEPT\n-A %s -d ff00::/8 -j ACCEPT\n-A %s -j MASQUERADE\n-A POSTROUTING -s fd42:b:f::%x/128 -j %s\nCOMMIT\n' \
        "$chain" "$chain" "$chain" "$chain" $((i + 1)) "$chain" > "$work/floor3.$i"
    read -r a _ < <("$nsrun" -n "/run/netns/$node" -- ip -batch "$work/floor1.$i")
    read -r b _ _ ping < <("$nsrun" -n "/run/netns/$pod" -p "/run/netns/$pod" -g fd42:b:f::1 -- ip -batch "$work/floor2.$i")
    read -r c _ < <("$nsrun" -n "/run/netns/$node" -i "$work/floor3.$i" -- ip6tables-restore --noflush -w)
    echo $((a + b)) >> "$work/res/floor.attach@$m"
    echo $((a + b + c)) >> "$work/res/floor.attachmasq@$m"
    echo "$ping" >> "$work/res/floor.attach.ping@$m"
}

phase_floor() {  # SIZE...: one node per size; attaches, then deletes, going round the sizes
    local m i d nodes=()
    floor_pods=()
    for m in "$@"; do floor_node "$m"; nodes+=("$tag-floor$m"); done
    new_pods $((floor_samples * $#)); local sp=("${pods[@]}") e=0
    for ((i = 1; i <= floor_samples; i++)); do
        for m in $(rotated "$i" "$@"); do floor_attach "$m" "$i" "${sp[$e]}"; e=$((e + 1)); done
    done
    for ((i = 1; i <= floor_samples; i++)); do
        for m in $(rotated "$i" "$@"); do
            read -r d _ < <("$nsrun" -n "/run/netns/$tag-floor$m" -- ip link del "vethf$i")
            echo "$d" >> "$work/res/floor.del@$m"
        done
    done
    ns_batch del "${sp[@]}" "${floor_pods[@]}" "${nodes[@]}"
}

# ---------------------------------------------------------------- run
log "v6cni bench: ours=${BIN[ours]} reference=${BIN[ref]} quick=$quick samples=$samples"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
ran=()
for s in $rows; do
    if [[ $s == C && $have_ptp6 == 0 ]]; then log "C skipped: ptp6 is not built yet"; continue; fi
    ran+=("$s")
    log "${S_TITLE[$s]}: fresh nodes"
    [[ ${S_KIND[$s]} != ipam ]] && phase_fresh "$s"
    log "${S_TITLE[$s]}: latency ($samples pods)"
    phase_latency "$s"
    log "${S_TITLE[$s]}: throughput"
    phase_throughput "$s"
    log "${S_TITLE[$s]}: scaling (${scale_sizes[*]} pods attached)"
    phase_scale "$s"
done
floor_scale=${scale_sizes[-1]}
log "kernel floor, with 0 and $floor_scale pods attached"
phase_floor 0 "$floor_scale"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- table
row "Scenario" "Measure" "v6cni" "reference" "v6cni ÷ ref" "target" "met"
row "---" "---" "---:" "---:" "---:" "---" "---"
for s in "${ran[@]}"; do
    t=${S_TITLE[$s]}
    kind=${S_KIND[$s]}
    addlim=0.25; [[ $kind == ptp ]] && addlim=0.01; [[ $kind == ipam ]] && addlim=0.5
    r=$(ratio "$(median "$work/res/$s.add.ours")" "$(median "$work/res/$s.add.ref")")
    row "$t" "ADD" "$(fmt_ms "$work/res/$s.add.ours")" "$(fmt_ms "$work/res/$s.add.ref")" "$r" "≤ $addlim" "$(verdict "$r" le "$addlim")"
    r=$(ratio "$(median "$work/res/$s.del.ours")" "$(median "$work/res/$s.del.ref")")
    row "$t" "DEL" "$(fmt_ms "$work/res/$s.del.ours")" "$(fmt_ms "$work/res/$s.del.ref")" "$r" "≤ 0.5" "$(verdict "$r" le 0.5)"
    r=$(ratio "$(median "$work/res/$s.add.ours.cpu")" "$(median "$work/res/$s.add.ref.cpu")")
    row "$t" "CPU time of one ADD (user + sys, with children)" "$(fmt_ms "$work/res/$s.add.ours.cpu")" "$(fmt_ms "$work/res/$s.add.ref.cpu")" "$r" "" ""
    if [[ $kind != ipam ]]; then
        r=$(ratio "$(median "$work/res/$s.first.ours")" "$(median "$work/res/$s.first.ref")")
        row "$t" "ADD, first pod on a fresh node" "$(fmt_ms "$work/res/$s.first.ours")" "$(fmt_ms "$work/res/$s.first.ref")" "$r" "" ""
        po=$(pct "$work/res/$s.add.ours.ping"); pr=$(pct "$work/res/$s.add.ref.ping")
        row "$t" "usable at ADD return (ping6 the result's gateway)" "$po" "$pr" "" "100 %" "$([[ $po == 100* ]] && echo yes || echo '**NO**')"
        po=$(pct "$work/res/$s.first.ours.ping"); pr=$(pct "$work/res/$s.first.ref.ping")
        row "$t" "usable at ADD return, first pod on a fresh node" "$po" "$pr" "" "100 %" "$([[ $po == 100* ]] && echo yes || echo '**NO**')"
    fi
    ro=$(cat "$work/res/$s.rss.ours" 2>/dev/null || echo -); rr=$(cat "$work/res/$s.rss.ref" 2>/dev/null || echo -)
    r=$(ratio "$ro" "$rr")
    if [[ $kind == ipam ]]; then
        row "$t" "peak RSS of one ADD" "$ro kB" "$rr kB" "$r" "≤ 1" "$(verdict "$r" le 1)"
    else
        row "$t" "peak RSS of one ADD (incl. IPAM, ip6tables)" "$ro kB" "$rr kB" "$r" "" ""
    fi
    row "$t" "leftovers after the latency rows" "$(cat "$work/res/$s.left.ours")" "$(cat "$work/res/$s.left.ref")" "" "0" ""
    if [[ -s $work/res/$s.tp1.ours ]]; then
        for w in 1 8; do
            read -r ao do_ fo dupo lo < "$work/res/$s.tp$w.ours"
            read -r ar dr fr dupr lr < "$work/res/$s.tp$w.ref"
            lbl="sequential"; ((w > 1)) && lbl="$w at a time"
            ((w > 1 && tp_runs > 1)) && lbl="$lbl (median of $tp_runs runs)"
            tgt=""; met=""
            r=$(ratio "$ao" "$ar")
            ((w > 1)) && { tgt="≥ 4"; met=$(verdict "$r" ge 4); }
            row "$t" "throughput, $tp_pods pods $lbl: ADD pods/s" "$ao" "$ar" "$r" "$tgt" "$met"
            row "$t" "throughput, $tp_pods pods $lbl: DEL pods/s" "$do_" "$dr" "$(ratio "$do_" "$dr")" "" ""
            row "$t" "throughput, $lbl: failures / duplicates / leftovers" "$fo / $dupo / $lo" "$fr / $dupr / $lr" "" "0 / 0 / 0" \
                "$([[ "$fo$dupo$lo" == 000 ]] && echo yes || echo '**NO**')"
        done
    fi
    for m in "${scale_sizes[@]}"; do
        [[ -s $work/res/$s.add@$m.ours ]] || continue
        r=$(ratio "$(median "$work/res/$s.add@$m.ours")" "$(median "$work/res/$s.add@$m.ref")")
        row "$t" "ADD with $m pods attached" "$(fmt_ms "$work/res/$s.add@$m.ours")" "$(fmt_ms "$work/res/$s.add@$m.ref")" "$r" "" ""
        r=$(ratio "$(median "$work/res/$s.del@$m.ours")" "$(median "$work/res/$s.del@$m.ref")")
        row "$t" "DEL with $m pods attached" "$(fmt_ms "$work/res/$s.del@$m.ours")" "$(fmt_ms "$work/res/$s.del@$m.ref")" "$r" "" ""
    done
    if [[ -s $work/res/$s.fill.ours ]]; then
        fo=$(awk '$2 != 0' "$work/res/$s.fill.ours" | wc -l); fr=$(awk '$2 != 0' "$work/res/$s.fill.ref" | wc -l)
        row "$t" "failed ADDs while filling the node (8 at a time, up to ${scale_sizes[-1]} pods)" "$fo" "$fr" "" "0" "$(verdict "$fo" le 0)"
    fi
    first=${scale_sizes[0]}; last=${scale_sizes[-1]}
    if [[ -s $work/res/$s.add@$last.ours ]]; then
        go=$(ratio "$(median "$work/res/$s.add@$last.ours")" "$(median "$work/res/$s.add@$first.ours")")
        gr=$(ratio "$(median "$work/res/$s.add@$last.ref")" "$(median "$work/res/$s.add@$first.ref")")
        tgt=""; met=""; [[ $last == 1000 ]] && { tgt="≤ 1.2 (v6cni)"; met=$(verdict "$go" le 1.2); }
        row "$t" "ADD growth: with $last ÷ with $first attached" "$go" "$gr" "" "$tgt" "$met"
    fi
done
# kernel floor, compared with scenario A (or B)
fs=""; for s in A B; do [[ -s $work/res/$s.add.ours ]] && { fs=$s; break; }; done
fl() { local f=$work/res/$1; if [[ -n $fs ]]; then
    row "kernel floor" "$2" "$(fmt_ms "$f")" "" "v6cni ÷ floor: $(ratio "$(median "$work/res/$fs.$3.ours")" "$(median "$f")"), ref ÷ floor: $(ratio "$(median "$work/res/$fs.$3.ref")" "$(median "$f")") ($fs)" "" ""
    else row "kernel floor" "$2" "$(fmt_ms "$f")" "" "" "" ""; fi; }
fl floor.attach@0 "attach: 2 × ip -batch (veth, port, up; NODAD addr, up, route)" add
fl floor.attachmasq@0 "attach + 1 × ip6tables-restore (masquerade chain + jump)" add
fl floor.del@0 "veth delete alone (ip link del)" del
row "kernel floor" "usable at return (ping6 gateway)" "$(pct "$work/res/floor.attach.ping@0")" "" "" "" ""
# The same with a full node: what the kernel and ip6tables themselves add as pods accumulate.
m=$floor_scale
row "kernel floor" "attach + masquerade with $m pods attached" "$(fmt_ms "$work/res/floor.attachmasq@$m")" "" "" "" ""
row "kernel floor" "veth delete with $m pods attached" "$(fmt_ms "$work/res/floor.del@$m")" "" "" "" ""
row "kernel floor" "attach + masquerade growth: with $m ÷ with 0 attached" "$(ratio "$(median "$work/res/floor.attachmasq@$m")" "$(median "$work/res/floor.attachmasq@0")")" "" "" "" ""
for p in host-local bridge ptp; do
    o=${BIN[ours]}/${p}6; r=${BIN[ref]}/$p
    [[ -x $o && -x $r ]] || continue
    [[ $p == ptp && $have_ptp6 == 0 ]] && continue
    so=$(stat -c %s "$o"); sr=$(stat -c %s "$r")
    row "binary size" "$p" "$(awk -v x="$so" 'BEGIN{printf "%.1f MB", x/1e6}')" "$(awk -v x="$sr" 'BEGIN{printf "%.1f MB", x/1e6}')" "$(ratio "$so" "$sr")" "" ""
done

elapsed=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", b-a}')
machine="machine: $(nproc) CPUs, kernel $(uname -r), load average $load_start at start, $load_end at end; $(date -u +%Y-%m-%dT%H:%MZ); mode: $( ((quick)) && echo quick || echo full ); run time ${elapsed} s"
((have_ptp6)) || machine="$machine; C skipped: ptp6 not built yet"
{
    echo "$machine"
    echo
    cat "$table"
} > "$work/report.md"
cat "$work/report.md"

if ((write)); then
    doc=$root/docs/benchmarks.md
    mkdir -p "$root/docs"
    if [[ ! -f $doc ]] || ! grep -q '<!-- bench:begin -->' "$doc"; then
        { echo "# Benchmarks"; echo; echo "<!-- bench:begin -->"; echo "<!-- bench:end -->"; } > "$doc"
    fi
    awk -v rep="$work/report.md" '
        /<!-- bench:begin -->/ { print; print ""; while ((getline l < rep) > 0) print l; print ""; skip = 1; next }
        /<!-- bench:end -->/ { skip = 0 }
        !skip' "$doc" > "$work/doc.new" && cat "$work/doc.new" > "$doc"
    log "wrote $doc"
fi
