import Glibc
import Testing
@testable import Spawn

/// A named network namespace of this test process: `v6fw-<pid>-<tag>-<random>`. Never the root
/// namespace: every command of a test runs through `ip netns exec <name>`.
struct TestNamespace {
    let name: String
    var exec: [String] { ["ip", "netns", "exec", name] }

    /// Runs `body` with fresh namespaces, one per tag, deleted afterwards whatever happens.
    static func with<T>(_ tags: [String], _ body: ([TestNamespace]) throws -> T) throws -> T {
        var made: [TestNamespace] = []
        defer { for ns in made { _ = try? Spawn.run("ip", arguments: ["netns", "del", ns.name]) } }
        for tag in tags {
            let ns = TestNamespace(name: "v6fw-\(getpid())-\(tag)-\(String(UInt32.random(in: 0...0xffff), radix: 16))")
            let r = try Spawn.run("ip", arguments: ["netns", "add", ns.name])
            try #require(r.status == 0, "ip netns add \(ns.name): \(r.stderrText)")
            made.append(ns)
        }
        return try body(made)
    }

    static func with<T>(_ tag: String, _ body: (TestNamespace) throws -> T) throws -> T {
        try with([tag]) { try body($0[0]) }
    }

    /// Runs a command inside; returns the result (does not check the status).
    @discardableResult
    func run(_ argv: String...) throws -> SpawnResult { try Spawn.run("ip", arguments: ["netns", "exec", name] + argv) }

    /// Runs a command inside and requires it to succeed.
    @discardableResult
    func must(_ argv: String...) throws -> String {
        let r = try Spawn.run("ip", arguments: ["netns", "exec", name] + argv)
        try #require(r.status == 0, "\(argv.joined(separator: " ")) in \(name): \(r.stderrText)")
        return r.stdoutText
    }
}

/// An ip6tables backend to run the integration tests against.
struct Backend: CustomTestStringConvertible, Sendable {
    let label: String
    let restore: String
    let save: String
    var testDescription: String { label }

    static let nft = Backend(label: "nf_tables", restore: "ip6tables-restore", save: "ip6tables-save")
    static let legacy = Backend(label: "legacy", restore: "ip6tables-legacy-restore", save: "ip6tables-legacy-save")

    /// nf_tables always; legacy when Debian's iptables ships it here.
    static var available: [Backend] {
        [nft] + (which(legacy.restore, searchPath: currentSearchPath()) != nil ? [legacy] : [])
    }
}

let isRoot = geteuid() == 0
