import Glibc

/// Why a child could not be run to completion. A child that ran and exited non-zero is not an error
/// here: that is `SpawnResult.status`.
public enum SpawnError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `name` has no `/` and no executable file of that name is in `searchPath`.
    case notFound(name: String, searchPath: String)
    /// A system call failed; `errno` is the C error number.
    case system(call: String, executable: String, errno: Int32)
    /// The child ran longer than allowed and was killed with SIGKILL.
    case timedOut(executable: String, timeout: Duration, stdout: [UInt8], stderr: [UInt8])

    public var description: String {
        switch self {
        case .notFound(let name, let path):
            return "\(name): executable not found in PATH \"\(path)\""
        case .system(let call, let exe, let e):
            return "\(exe): \(call): \(String(cString: strerror(e))) (errno \(e))"
        case .timedOut(let exe, let timeout, _, let err):
            var s = "\(exe): killed after the timeout of \(timeout)"
            let tail = String(decoding: err.suffix(512), as: UTF8.self)
            if !tail.isEmpty { s += "; stderr: \(tail)" }
            return s
        }
    }
}
