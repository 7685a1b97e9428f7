#if canImport(Glibc)
import Glibc
#endif
import CLinux
import CNI

/// The few file operations the lease store needs, over the C library, with errors that say what
/// was being done to which path.
public enum FileSystem {
    public struct Failure: Error, CustomStringConvertible {
        var operation: String
        var path: String
        var errno: Int32
        public var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
        var cniError: CNIError { CNIError(.ioFailure, description) }
    }

    /// Whole file, or nil when it does not exist.
    static func read(_ path: String) throws(Failure) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw Failure(operation: "opening", path: path, errno: errno)
        }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n == 0 { return out }
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(operation: "reading", path: path, errno: errno)
            }
            out += buf[0..<n]
        }
    }

    static func readString(_ path: String) throws(Failure) -> String? {
        try read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes `bytes` to a fresh temporary file next to `path`, then renames it over `path`, so
    /// `path` never exists half-written. (A lease, which must not replace one, is linked instead:
    /// `createTemporary` + `link`.)
    ///
    /// Not fsync'd, like the reference host-local: a process killed at any point leaves whole files
    /// (the bytes are in the page cache before the rename/link), and only a kernel crash or power
    /// loss, which takes every pod of the node with it, can lose the last writes. An fsync forces an
    /// ext4 journal commit shared with every other writer on the disk: 0.3–8 ms each on a busy
    /// node, four per ADD, which made host-local6 ADD several times slower than the reference
    /// (docs/benchmarks.md).
    static func writeAtomically(_ bytes: [UInt8], to path: String, temporaryDirectory: String,
                                mode: mode_t = 0o600) throws(Failure) {
        let tmp = try createTemporary(bytes, in: temporaryDirectory, mode: mode).path
        if rename(tmp, path) != 0 {
            let e = errno
            unlink(tmp)
            throw Failure(operation: "replacing", path: path, errno: e)
        }
    }

    /// A fresh file `<directory>/.tmp-<pid><suffix>` holding `bytes` and, where the file system
    /// keeps user attributes, `attribute` (`attributeSet` says whether it did). The caller links or
    /// renames it into place and removes the name. A file already there by that name was left by a
    /// killed process that had our pid, so temporaries alive at the same time need distinct suffixes.
    static func createTemporary(_ bytes: [UInt8], in directory: String, suffix: String = "", mode: mode_t = 0o600,
                                attribute: (name: String, value: [UInt8])? = nil) throws(Failure)
        -> (path: String, attributeSet: Bool) {
        let tmp = "\(directory)/.tmp-\(getpid())\(suffix)"
        var fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0, errno == EEXIST {  // left by a killed process that had our pid
            unlink(tmp)
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        }
        if fd < 0 { throw Failure(operation: "creating", path: tmp, errno: errno) }
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd); unlink(tmp)
                throw Failure(operation: "writing", path: tmp, errno: e)
            }
            rest = rest.dropFirst(n)
        }
        var attributeSet = false
        if let attribute {
            if attribute.value.withUnsafeBytes({ fsetxattr(fd, attribute.name, $0.baseAddress, $0.count, 0) }) == 0 {
                attributeSet = true
            } else if !attributesUnsupported(errno) {
                let e = errno
                close(fd); unlink(tmp)
                throw Failure(operation: "setting \(attribute.name) on", path: tmp, errno: e)
            }
        }
        close(fd)
        return (tmp, attributeSet)
    }

    /// Links `existing` at `path` unless `path` exists (then false).
    static func link(_ existing: String, to path: String) throws(Failure) -> Bool {
        if Glibc.link(existing, path) == 0 { return true }
        if errno == EEXIST { return false }
        throw Failure(operation: "creating", path: path, errno: errno)
    }

    enum Attribute {
        case value([UInt8])
        case absent  // the file exists without it, or the file system keeps no user attributes
        case noFile
    }

    /// An extended attribute of a small file (its value at most 4 kB).
    static func attribute(_ name: String, of path: String) throws(Failure) -> Attribute {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, $0.count) }
        if n >= 0 { return .value(Array(buf[0..<n])) }
        switch errno {
        case ENOENT: return .noFile
        case ENODATA: return .absent
        case let e where attributesUnsupported(e): return .absent
        case let e: throw Failure(operation: "reading \(name) of", path: path, errno: e)
        }
    }

    /// Replaces an attribute the file already has; false when it has none (or no file is there).
    static func replaceAttribute(_ name: String, of path: String, with value: [UInt8]) throws(Failure) -> Bool {
        if value.withUnsafeBytes({ setxattr(path, name, $0.baseAddress, $0.count, Int32(XATTR_REPLACE)) }) == 0 { return true }
        if errno == ENODATA || errno == ENOENT || attributesUnsupported(errno) { return false }
        throw Failure(operation: "setting \(name) on", path: path, errno: errno)
    }

    /// No user attributes here: not kept by the file system, or refused (an LSM policy).
    private static func attributesUnsupported(_ e: Int32) -> Bool { e == ENOTSUP || e == EOPNOTSUPP || e == EPERM || e == EACCES }

    /// Overwrites a small file in place (created if missing) without ever leaving it torn: content
    /// at least as long as the old one goes in with one `pwrite` at offset 0, which a SIGKILL cannot
    /// split; shorter content (rare: a round robin wrapping, a shorter address) is written to a
    /// temporary file in `temporaryDirectory` and renamed over. For `last_reserved_ip.N` and the
    /// index's `seen`, where a fresh inode per write would cost more than the file is worth.
    static func writeInPlace(_ bytes: [UInt8], to path: String, temporaryDirectory: String, mode: mode_t = 0o600) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode)
        if fd < 0 { throw Failure(operation: "writing", path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw Failure(operation: "reading the size of", path: path, errno: errno) }
        guard bytes.count >= Int(st.st_size) else {
            try writeAtomically(bytes, to: path, temporaryDirectory: temporaryDirectory, mode: mode)
            return
        }
        while true {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            if n == bytes.count { return }
            if n < 0, errno == EINTR { continue }
            throw Failure(operation: "writing", path: path, errno: n < 0 ? errno : EIO)
        }
    }

    /// Removes a file; a missing one is fine.
    static func remove(_ path: String) throws(Failure) {
        if unlink(path) != 0, errno != ENOENT { throw Failure(operation: "removing", path: path, errno: errno) }
    }

    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Creates a directory and its parents (mode for the last one); existing ones are fine.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(Failure) {
        // Usually everything exists already: one mkdir says so.
        if mkdir(path, mode) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw Failure(operation: "creating directory", path: path, errno: errno) }
        if let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex {
            try makeDirectories(String(path[..<slash]), mode: 0o755)
        }
        if mkdir(path, mode) != 0, errno != EEXIST {
            throw Failure(operation: "creating directory", path: path, errno: errno)
        }
    }

    /// File names in a directory (not `.`/`..`); for GC, STATUS and index rebuilds only.
    static func list(_ path: String) throws(Failure) -> [String] {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return [] }
            throw Failure(operation: "listing", path: path, errno: errno)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names
    }

    /// Modification time in nanoseconds, or nil when the file does not exist.
    static func modificationTime(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }
}
