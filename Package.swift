// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "v6cni",
    products: [
        .executable(name: "host-local6", targets: ["host-local6"]),
        .executable(name: "bridge6", targets: ["bridge6"]),
        .executable(name: "ptp6", targets: ["ptp6"]),
    ],
    targets: [
        // C shims: setns/unshare declarations and kernel UAPI constants Swift can't see.
        .target(name: "CLinux"),
        // Linked into the executables only: skips Swift runtime start-up work a plugin never uses.
        .target(name: "ProcessStart"),
        .systemLibrary(name: "CNetlink", pkgConfig: "libnl-route-3.0",
                       providers: [.apt(["libnl-3-dev", "libnl-route-3-dev"])]),

        .target(name: "IPAddressing"),
        .target(name: "CNI", dependencies: ["IPAddressing"]),
        .target(name: "Spawn"),
        .target(name: "IPAM", dependencies: ["CNI", "CLinux", "IPAddressing", "Spawn"]),
        .target(name: "Netlink", dependencies: ["CNetlink", "CLinux", "IPAddressing"]),
        .target(name: "Firewall", dependencies: ["IPAddressing", "Spawn"]),
        // What bridge6 and ptp6 share: veth pairs, pod interface set-up, sysctls, masquerade, CHECK.
        .target(name: "PodNetwork", dependencies: ["CNI", "IPAddressing", "IPAM", "Netlink", "Firewall", "Spawn"]),

        .executableTarget(name: "host-local6", dependencies: ["ProcessStart", "CNI", "IPAM"]),
        .executableTarget(name: "bridge6", dependencies: ["ProcessStart", "CNI", "IPAM", "Netlink", "Firewall", "PodNetwork"]),
        .executableTarget(name: "ptp6", dependencies: ["ProcessStart", "CNI", "IPAM", "Netlink", "Firewall", "PodNetwork"]),

        .testTarget(name: "IPAddressingTests", dependencies: ["IPAddressing"]),
        .testTarget(name: "CNITests", dependencies: ["CNI", "IPAddressing"]),
        .testTarget(name: "IPAMTests", dependencies: ["IPAM", "CLinux"]),
        .testTarget(name: "NetlinkTests", dependencies: ["Netlink", "CLinux"]),
        .testTarget(name: "FirewallTests", dependencies: ["Firewall", "Spawn"]),
        .testTarget(name: "PluginTests", dependencies: ["CLinux", "IPAddressing"]),
    ]
)
