import Foundation
import Testing

/// The index entry is a second name of the pod's first lease file with its addresses in the
/// `user.v6cni.index` attribute (one inode per ADD). Where the file system keeps no user attributes
/// it must fall back to an index file of its own: ramfs refuses them (EOPNOTSUPP), so the store is
/// put on one, mounted in a mount namespace of this test's own (`unshare -m`), gone with it.
@Suite("host-local6 index attribute", .serialized)
struct HostLocalAttributeTests {
    static var available: Bool {
        PluginProcess.isRoot && HL.binaryAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
    }

    @Test("ADD makes one inode: the index entry is the lease file's second name", .enabled(if: available))
    func oneInodePerAdd() throws {
        let f = HostLocalFixture("attr")
        let config = f.config(ipam: "\"ranges\":[[{\"subnet\":\"fd42:5c::/64\"}]]")
        let add = try f.run("ADD", config, containerID: "one")
        try #require(add.status == 0, "\(add.stdout) \(add.stderr)")
        let leased = try #require(HL.addresses(add).first)
        var lease = stat(), index = stat()
        try #require(stat("\(f.netDir)/\(leased)", &lease) == 0 && stat("\(f.indexDir)/one.65746830", &index) == 0)
        #expect(lease.st_ino == index.st_ino && lease.st_nlink == 2)
        #expect(HL.indexText("\(f.indexDir)/one.65746830") == "\(leased)\n")
        #expect(HL.text("\(f.netDir)/\(leased)") == "one\r\neth0")  // the reference's lease text
        #expect(try f.run("DEL", config, containerID: "one").status == 0)
        #expect(!HL.exists("\(f.netDir)/\(leased)") && !HL.exists("\(f.indexDir)/one.65746830"))
    }

    @Test("on a file system without user attributes the index is a file of its own", .enabled(if: available))
    func withoutAttributes() throws {
        let f = HostLocalFixture("noattr")
        try FileManager.default.createDirectory(atPath: f.dataDir, withIntermediateDirectories: true)
        let conf = "\(f.root)/conf.json", out = "\(f.root)/out"
        try f.config(ipam: "\"ranges\":[[{\"subnet\":\"fd42:5d::/64\"}]]").write(toFile: conf, atomically: true, encoding: .utf8)
        let plugin = PluginProcess("host-local6").path
        // Everything that must see the ramfs runs inside the one unshare; results land in `out`.
        let script = """
            mount -t ramfs none \(f.dataDir) || exit 90
            export CNI_NETNS=/var/run/netns/none CNI_IFNAME=eth0 CNI_PATH=\(PluginProcess.cniPath)
            CNI_COMMAND=ADD CNI_CONTAINERID=one \(plugin) < \(conf) > \(out).add; echo $? > \(out).add.status
            cat \(f.indexDir)/one.65746830 > \(out).index
            for n in \(f.netDir)/fd42*; do stat -c %h "$n"; done > \(out).links
            CNI_COMMAND=DEL CNI_CONTAINERID=one \(plugin) < \(conf); echo $? > \(out).del.status
            ls -A \(f.netDir) \(f.indexDir) > \(out).after
            """
        let run = try PluginProcess.exec(["/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script])
        try #require(run.status == 0, "unshare/mount failed (\(run.status)): \(run.stderr)")
        try #require(HL.text("\(out).add.status") == "0\n", "ADD: \(HL.text("\(out).add") ?? "")")
        let addOut = try JSONSerialization.jsonObject(with: Data((HL.text("\(out).add") ?? "").utf8)) as? [String: Any]
        let leased = try #require(((addOut?["ips"] as? [[String: Any]])?.first?["address"] as? String)?.split(separator: "/").first)
        #expect(HL.text("\(out).index") == "\(leased)\n")  // a listing, not the lease text
        #expect(HL.text("\(out).links") == "1\n")         // the lease has one name
        #expect(HL.text("\(out).del.status") == "0\n")
        let after = HL.text("\(out).after") ?? ""
        #expect(!after.contains(String(leased)) && !after.contains("one.65746830"), "\(after)")
        #expect(!HL.exists("\(f.netDir)"), "the ramfs went with the mount namespace")
    }
}
