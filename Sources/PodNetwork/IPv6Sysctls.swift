import CNI
import Netlink
#if canImport(Glibc)
import Glibc
#endif

/// The sysctls that make an interface's IPv6 usable the moment ADD returns, in the namespace the
/// calling thread was in when `open` ran (inside `NetworkNamespace.perform` for a pod). Keys are
/// opened below one `net/ipv6/conf` directory descriptor (see `SysctlDirectory`).
public struct IPv6Sysctls {
    let conf: SysctlDirectory

    /// nil when this namespace has no IPv6 at all (a node booted with `ipv6.disable=1` has no
    /// /proc/sys/net/ipv6).
    public static func open() throws -> IPv6Sysctls? {
        do throws(KernelError) {
            return IPv6Sysctls(conf: try SysctlDirectory("net/ipv6/conf"))
        } catch where error.isNotFound {
            return nil
        }
    }

    /// `open()`, or an error naming `what` needs IPv6.
    public static func require(_ what: String) throws -> IPv6Sysctls {
        guard let v6 = try open() else { throw unavailable(what) }
        return v6
    }

    public static func unavailable(_ what: String) -> CNIError {
        CNIError(code: 102, "\(what) needs IPv6, but IPv6 is disabled on this node (no /proc/sys/net/ipv6; is the kernel booted with ipv6.disable=1?)")
    }

    /// Pod side, before the link goes up: no router advertisements, no SLAAC, no DAD (unless asked),
    /// addresses kept across down/up, and IPv6 on where a runtime switched it off.
    public func preparePodInterface(_ ifname: String, enableDAD: Bool) throws {
        for dev in ["lo", ifname] where (try? conf.read("\(dev)/disable_ipv6")) != "0" {
            try setDevice(dev, "disable_ipv6", "0")
        }
        try setDevice(ifname, "accept_ra", "0")
        try setDevice(ifname, "autoconf", "0")
        try setDevice(ifname, "keep_addr_on_down", "1")
        if enableDAD {
            try setDevice(ifname, "enhanced_dad", "1")
            try setDevice(ifname, "accept_dad", "1")
        } else {
            try setDevice(ifname, "accept_dad", "0")
        }
    }

    /// Node side of a link we create (bridge, host veth), before it goes up: its own link-local
    /// address must not be tentative (Linux sends neighbour solicitations for forwarded packets from
    /// it), and router advertisements must not touch our routes.
    public func prepareNodeInterface(_ ifname: String) throws {
        try setDevice(ifname, "accept_dad", "0")
        try setDevice(ifname, "accept_ra", "0")
    }

    /// Host end of a pod's veth on a bridge, before it goes up: IPv6 off. A bridge port forwards
    /// frames, it never sources or receives IPv6 itself (the bridge holds the gateway addresses and
    /// sends the neighbour solicitations), so its link-local address, its routes, its DAD and its
    /// MLD reports are pure cost: without them the kernel does less work at link-up and unregisters
    /// the veth markedly faster at DEL (median 57 → 35 ms measured, docs/benchmarks.md).
    public func prepareBridgePort(_ ifname: String) throws {
        try setDevice(ifname, "disable_ipv6", "1")
    }

    /// Writes one per-device IPv6 sysctl. A device without IPv6 — the kernel gives none to a link
    /// whose MTU is below 1280, which an IPv4-only network may ask for — has nothing to set.
    func setDevice(_ dev: String, _ key: String, _ value: String) throws {
        do throws(KernelError) {
            try conf.write("\(dev)/\(key)", value)
        } catch {
            if error.errno == ENOENT, !conf.exists(dev) { return }
            throw error
        }
    }

    /// `forwarding=1` for IPv6 in this namespace, written only if needed.
    public func enableForwarding() throws {
        if try conf.read("all/forwarding") != "1" {
            try conf.write("all/forwarding", "1")
        }
    }

    /// `ip_forward=1` in the calling thread's namespace, written only if needed (dual-stack pods).
    public static func enableIPv4Forwarding() throws {
        if try Sysctl.read("net/ipv4/ip_forward") != "1" {
            try Sysctl.write("net/ipv4/ip_forward", "1")
        }
    }
}
