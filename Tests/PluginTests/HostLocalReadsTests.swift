import Foundation
import Testing

/// host-local6 holds the store's lock for the whole call and nobody else writes meanwhile, so it reads
/// each store file at most once per call (`LeaseStore` remembers what it read and wrote). Before, an
/// ADD read `last_reserved_ip` three times, `seen` twice and the pod's index twice: a dozen syscalls
/// of ≈ 5–10 µs each in a call of ≈ 2 ms. strace counts the opens for reading.
@Suite("host-local6 store reads", .serialized)
struct HostLocalReadsTests {
    /// Paths opened read-only more than once in a trace, with their counts.
    static func readTwice(_ calls: [String], under dir: String) -> [String: Int] {
        var opens: [String: Int] = [:]
        for call in calls where call.contains("O_RDONLY") && call.contains("\"\(dir)/") {
            guard let start = call.range(of: "\"\(dir)/") else { continue }
            let path = call[call.index(after: start.lowerBound)...].prefix { $0 != "\"" }
            opens[String(path), default: 0] += 1
        }
        return opens.filter { $0.value > 1 }
    }

    @Test("the counter finds repeated read-only opens below the directory only")
    func counterSeesWhatItMust() {
        let calls = [
            "5 openat(AT_FDCWD, \"/d/n/seen\", O_RDONLY|O_CLOEXEC) = 4",
            "5 openat(AT_FDCWD, \"/d/n/seen\", O_WRONLY|O_CREAT|O_CLOEXEC, 0600) = 4",
            "5 openat(AT_FDCWD, \"/d/n/last_reserved_ip.0\", O_RDONLY|O_CLOEXEC) = 4",
            "5 openat(AT_FDCWD, \"/d/n/last_reserved_ip.0\", O_RDONLY|O_CLOEXEC) = 4",
            "5 openat(AT_FDCWD, \"/etc/x\", O_RDONLY|O_CLOEXEC) = 4",
            "5 openat(AT_FDCWD, \"/etc/x\", O_RDONLY|O_CLOEXEC) = 4",
        ]
        #expect(Self.readTwice(calls, under: "/d") == ["/d/n/last_reserved_ip.0": 2])
    }

    @Test("ADD and DEL read each store file once", .enabled(if: StartupTests.available))
    func eachFileOnce() throws {
        let fixture = HostLocalFixture("reads")
        let config = fixture.config(ipam: "\"ranges\":[[{\"subnet\":\"fd42:5b::/64\"}]]")
        let (first, _) = try StartupTests.fileCalls("host-local6", "ADD", config: config, containerID: "first")
        try #require(first.status == 0, "\(first.stdout) \(first.stderr)")
        let (add, addCalls) = try StartupTests.fileCalls("host-local6", "ADD", config: config, containerID: "second")
        try #require(add.status == 0, "\(add.stdout) \(add.stderr)")
        // The trace must show the reads it counts, or finding no repeat would prove nothing.
        #expect(addCalls.contains { $0.contains("\(fixture.netDir)/last_reserved_ip.0\", O_RDONLY") })
        #expect(addCalls.contains { $0.contains("\(fixture.indexDir)/seen\", O_RDONLY") })
        #expect(Self.readTwice(addCalls, under: fixture.dataDir) == [:])
        let (del, delCalls) = try StartupTests.fileCalls("host-local6", "DEL", config: config, containerID: "second")
        #expect(del.status == 0, "\(del.stdout) \(del.stderr)")
        #expect(Self.readTwice(delCalls, under: fixture.dataDir) == [:])
        let leased = try #require(HL.addresses(add).first)
        #expect(!FileManager.default.fileExists(atPath: "\(fixture.netDir)/\(leased)"), "DEL left the lease of \(leased)")
    }
}
