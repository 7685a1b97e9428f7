#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation
import Testing
import IPAddressing
@testable import CNI
@testable import IPAM

/// A scratch directory under /tmp named after this process, removed (with everything in it) on deinit.
final class ScratchDirectory {
    nonisolated(unsafe) private static var counter = 0
    private static let lock = NSLock()

    let path: String

    init(_ tag: String = "ipam") {
        Self.lock.lock()
        Self.counter += 1
        let n = Self.counter
        Self.lock.unlock()
        path = "/tmp/v6cni-test-\(tag)-\(getpid())-\(n)"
        try? FileManager.default.removeItem(atPath: path)
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ content: String) throws {
        // Atomic (a new inode): an index entry may be a second name of a lease file.
        try Data(content.utf8).write(to: URL(fileURLWithPath: "\(path)/\(relative)"), options: .atomic)
    }
}

/// An index entry's address listing: its `user.v6cni.index` attribute, else the file's text.
func indexText(_ path: String) -> String? {
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = buf.withUnsafeMutableBytes { getxattr(path, "user.v6cni.index", $0.baseAddress, $0.count) }
    return n >= 0 ? String(decoding: buf[0..<n], as: UTF8.self) : fileText(path)
}

/// Inode number and link count.
func inode(_ path: String) -> (number: UInt, links: UInt)? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return (UInt(st.st_ino), UInt(st.st_nlink))
}

/// Reads a whole file as bytes; nil when absent.
func fileBytes(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { Array($0) }
}

func fileText(_ path: String) -> String? {
    fileBytes(path).map { String(decoding: $0, as: UTF8.self) }
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// Permission bits of a file or directory.
func mode(_ path: String) -> mode_t? {
    var st = stat()
    guard stat(path, &st) == 0 else { return nil }
    return st.st_mode & 0o7777
}

/// Names in a directory, sorted, without `.`/`..`.
func listing(_ path: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
}

func ip(_ s: String) -> IPAddress { IPAddress(s)! }
func prefix(_ s: String) -> IPPrefix { IPPrefix(s)! }

/// A canonicalized range.
func range(_ subnet: String, start: String? = nil, end: String? = nil, gateway: String? = nil) throws -> AddressRange {
    var r = AddressRange(subnet: prefix(subnet), rangeStart: start.map(ip), rangeEnd: end.map(ip), gateway: gateway.map(ip))
    try r.canonicalize(field: "test")
    return r
}

/// Runs `body` and returns the CNIError it throws (nil when it throws none or another error).
func cniError(_ body: () throws -> Void) -> CNIError? {
    do { try body() } catch let e as CNIError { return e } catch { Issue.record("unexpected error \(error)"); return nil }
    return nil
}

/// A request as the runtime would send it (ADD unless told otherwise).
func request(_ config: String, command: Command = .add, containerID: String = "ctr1", ifname: String = "eth0",
             cniArgs: String? = nil) throws -> Request {
    var vars = ["CNI_COMMAND": command.rawValue, "CNI_CONTAINERID": containerID, "CNI_NETNS": "/run/netns/x",
                "CNI_IFNAME": ifname, "CNI_PATH": "/opt/cni/bin"]
    if let cniArgs { vars["CNI_ARGS"] = cniArgs }
    let env = try Environment(command: command, variables: vars)
    return try Request(env: env, rawConfig: Array(config.utf8))
}
