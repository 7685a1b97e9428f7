import CLinux
import Foundation
import Synchronization
import Testing
@testable import Netlink

// MARK: - Fake transport (unit tests, no root)

/// Records every request and answers from a queue of canned replies.
final class FakeTransport: NetlinkTransport {
    enum Reply {
        case messages([NetlinkMessage])
        case failure(KernelError)
    }

    var sent: [NetlinkRequest] = []
    var replies: [Reply] = []
    var filtersDumps = true

    func send(_ request: NetlinkRequest) throws(KernelError) -> [NetlinkMessage] {
        sent.append(request)
        guard !replies.isEmpty else { return [] }
        switch replies.removeFirst() {
        case .messages(let m): return m
        case .failure(let e): throw e
        }
    }
}

// MARK: - Running code on a dedicated thread

/// Runs `body` on a fresh pthread and waits for it. Anything that calls setns/unshare goes here:
/// Swift Testing runs tests on a shared pool whose threads must never change namespace.
func onDedicatedThread<T>(_ body: @escaping () throws -> T) throws -> T {
    var result: Result<T, any Error>? = nil
    let box = ThreadBody { result = Result { try body() } }
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, threadEntry, Unmanaged.passRetained(box).toOpaque())
    precondition(rc == 0, "pthread_create failed")
    pthread_join(thread, nil)
    return try result!.get()
}

private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

private func threadEntry(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    Unmanaged<ThreadBody>.fromOpaque(arg!).takeRetainedValue().run()
    return nil
}

// MARK: - Named test namespaces

let isRoot = geteuid() == 0
private let namespaceCounter = Atomic<Int>(0)

/// A named namespace `v6nl-<pid>-<n>` made with `ip netns add`; deleted by `destroy()` (call it in
/// a `defer`). Only these namespaces are ever changed by the tests.
final class TestNamespace {
    let name: String
    let namespace: NetworkNamespace
    private var destroyed = false

    init() throws {
        let n = namespaceCounter.add(1, ordering: .relaxed).newValue
        name = "v6nl-\(getpid())-\(n)"
        try run("/usr/sbin/ip", ["netns", "add", name])
        do {
            namespace = try NetworkNamespace.open(name: name)
        } catch {
            _ = try? run("/usr/sbin/ip", ["netns", "del", name])
            throw error
        }
    }

    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        _ = try? run("/usr/sbin/ip", ["netns", "del", name])
    }

    deinit { destroy() }

    var path: String { "/run/netns/\(name)" }

    /// A route socket in this namespace, opened on a dedicated thread.
    func socket() throws -> RouteSocket {
        let ns = namespace
        return try onDedicatedThread { try ns.routeSocket() }
    }

    /// `ip -j -n <name> args…`, parsed.
    func ipJSON(_ args: String...) throws -> [[String: Any]] {
        let out = try run("/usr/sbin/ip", ["-j", "-n", name] + args)
        if out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return [] }
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8))
        return obj as? [[String: Any]] ?? []
    }

    /// `ip -n <name> args…` as text (for commands whose JSON output is not needed).
    @discardableResult
    func ip(_ args: String...) throws -> String {
        try run("/usr/sbin/ip", ["-n", name] + args)
    }
}

struct CommandFailed: Error, CustomStringConvertible {
    var command: String
    var status: Int32
    var output: String
    var description: String { "\(command) exited \(status): \(output)" }
}

@discardableResult
func run(_ tool: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0 else {
        throw CommandFailed(command: ([tool] + args).joined(separator: " "), status: p.terminationStatus,
                            output: text + String(decoding: errData, as: UTF8.self))
    }
    return text
}

/// Expects `body` to throw a KernelError and returns it.
func expectKernelError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> KernelError? {
    do {
        try body()
        Issue.record("expected a KernelError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let e as KernelError {
        return e
    } catch {
        Issue.record("expected a KernelError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
