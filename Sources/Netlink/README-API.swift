/// # Netlink — the kernel networking API of v6cni
///
/// A typed, synchronous Swift API over rtnetlink, with libnl-3's core as the transport. Every
/// failure is a `KernelError` that keeps the kernel's errno and extended-ACK text and says what was
/// being done where: `adding fd42::5/64 to eth0 in /run/netns/pod-1: File exists`.
///
/// ## Namespaces and sockets
/// ```swift
/// let pod  = try NetworkNamespace.open(path: cniNetns)      // /run/netns/x or /proc/PID/ns/net
/// let host = try NetworkNamespace.current()                 // /proc/thread-self/ns/net
/// let podNL  = try pod.routeSocket()                        // setns → socket → setns back
/// let hostNL = try host.routeSocket()                       // (or RouteSocket() for the current one)
/// try pod.perform { try Sysctl.write("net/ipv6/conf/eth0/accept_ra", "0") }
/// ```
/// * `NetworkNamespace.open(path:) / open(name:) / current()`, `.path`, `.fileDescriptor`, `.inode`,
///   `perform<T>(_ body: () throws -> T) throws -> T`, `routeSocket() throws(KernelError) -> RouteSocket`.
///   The fd closes on deinit. setns affects only the calling thread: do namespace work on the
///   plugin's one synchronous thread, never from async code. A socket stays in the namespace it
///   was opened in, whichever thread uses it.
/// * `Sysctl.write(_ key:, _ value:)`, `Sysctl.read(_:) -> String`, `Sysctl.exists(_:)`, `Sysctl.path(_:)`:
///   keys as `net/ipv6/conf/eth0/accept_dad` (or dotted). They act on the calling thread's namespace, so
///   wrap them in `ns.perform`. A missing key (IPv6 disabled at boot, link gone) is errno ENOENT.
/// * `SysctlDirectory(_ key:, root:)` (e.g. `net/ipv6/conf`, opened in the calling thread's namespace),
///   `.write(_ sub:, _ value:)`, `.read(_:)`, `.exists(_:)`: many keys below one directory, one walk.
/// * `SysctlRoot.process` (where every key is opened from: a procfs instance of the process's own,
///   mounted detached, when allowed; `.isPrivate`), `SysctlRoot.machine` (/proc/sys).
///
/// ## RouteSocket (all `throws(KernelError)`; indices are `Int32` ifindexes)
/// Links:
/// * `link(named:) -> Link?`, `link(index:) -> Link?` (nil on ENODEV; one RTM_GETLINK, no dump),
///   `requireLink(named:) -> Link`, `links() -> [Link]` (a dump; diagnostics only)
/// * `addBridge(name:mtu:mac:) -> Link`
/// * `addVeth(name:peerName:peerNamespace:mtu:mac:peerMAC:) -> Link` — `name` is created in this
///   socket's namespace, the peer directly in `peerNamespace` (IFLA_NET_NS_FD). Returns the local end;
///   its `linkIndex` is the peer's ifindex in the peer namespace. Both ends start down; bring each
///   up through its own namespace's socket (IFF_UP on the peer inside the create fails, ENOTCONN).
/// * `setUp(index:)`, `setDown(index:)`, `setMaster(index:master:)` (nil detaches), `setMTU(index:_:)`,
///   `setMAC(index:_:)`, `setPromiscuous(index:_:)`, `setName(index:_:)`, `moveLink(index:to:)`,
///   `setBridgePort(index:hairpin:isolated:learning:neighborSuppress:)` (only the given ones change),
///   `deleteLink(index:)`, `deleteLink(named:)`
/// * `Link`: `index, name, mac: MACAddress?, hardwareAddress: [UInt8], mtu, flags (.up, .promiscuous,
///   .lowerUp…), isUp, isPromiscuous, operState (.up/.down/…), kind ("veth", "bridge"), slaveKind,
///   masterIndex, linkIndex (IFLA_LINK: veth peer), linkNetnsID, promiscuity, hardwareType`
/// * `MACAddress("02:42:…")`, `.bytes`, `.description` (lower-case, colon-separated)
///
/// Addresses:
/// * `addAddress(_ prefix: IPPrefix, index:, flags: AddressFlags = [], scope: .universe)` — pass
///   `.noDAD` (IFA_F_NODAD, sent in both ifa_flags and IFA_FLAGS). EEXIST if present.
/// * `deleteAddress(_ prefix:, index:)` — EADDRNOTAVAIL if absent.
/// * `addresses(index: Int32? = nil, family: IPAddress.Family? = nil) -> [AddressInfo]` — the kernel
///   filters by link (NETLINK_GET_STRICT_CHK); filtered here too.
/// * `AddressInfo`: `prefix, address, index, flags (.noDAD, .tentative, .dadFailed, .permanent,
///   .noPrefixRoute…), isTentative, isDADFailed, scope: RouteScope, peer, label, validLifetime,
///   preferredLifetime`
///
/// Routes:
/// * `Route(destination:gateway:outputIndex:metric:table: 254, scope: .universe, type: .unicast,
///   routeProtocol: .boot, source:, mtu:, advmss:, onLink:)` — mtu/advmss go in RTA_METRICS,
///   onLink is RTNH_F_ONLINK, `metric` is RTA_PRIORITY, `source` is RTA_PREFSRC.
/// * `addRoute(_:exclusive: true)` (EEXIST if there; `exclusive: false` adds beside another next
///   hop, ECMP for IPv6), `replaceRoute(_:)`, `deleteRoute(_:)` (matches destination +
///   table, and gateway/outputIndex/metric when set; ESRCH if absent)
/// * `routes(family: .v6, table: 254 (nil = all), outputIndex: nil) -> [Route]` — cached clones are
///   left out; a table or link that doesn't exist gives []. An ECMP (RTA_MULTIPATH) route comes as
///   one Route per next hop.
///
/// Proxy neighbours:
/// * `addProxyNeighbor(_ address: IPAddress, index:)` (idempotent), `deleteProxyNeighbor(_:index:)`
///   (ENOENT if absent), `proxyNeighbors(family: .v6, index: nil) -> [ProxyNeighbor]`
///
/// Bridge multicast database:
/// * `addMulticastGroup(_ group: IPAddress, bridge:port:)`: a permanent entry for a port, a host
///   entry when `port == bridge`; EEXIST if present, EINVAL when the bridge's snooping is off
///
/// ## Errors
/// `KernelError`: `errno`, `operation`, `namespacePath`, `kernelMessage` (extended ACK), `reason`
/// (strerror), `description`, and `isExists` (EEXIST), `isNotFound` (ENODEV, ENOENT, ESRCH,
/// EADDRNOTAVAIL, ENXIO), `isPermissionDenied` (EPERM, EACCES).
///
/// ## Testing without root
/// `RouteSocket(transport:namespacePath:)` takes any `NetlinkTransport`
/// (`func send(_: NetlinkRequest) throws(KernelError) -> [NetlinkMessage]`). A `NetlinkRequest` is a plain
/// value — message type, NLM_F flags, the family header bytes and a tree of `NetlinkAttribute`s — so a
/// fake transport can assert on the attributes, or on `request.encoded()` bytes. The real
/// `LibnlTransport` builds the same bytes with libnl's nlmsg_*/nla_* calls (a unit test checks that).
public enum NetlinkAPI {}
