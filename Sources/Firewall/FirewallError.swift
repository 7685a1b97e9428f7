import Spawn

/// What went wrong, with what was being done, the command, its status and ip6tables' own words.
public enum FirewallError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The command ran and exited non-zero. `script` is the restore input, if there was one.
    case commandFailed(operation: String, command: [String], status: Int32, stderr: String, script: String?)
    /// The command could not be started (not installed, not in PATH, timed out…).
    case couldNotRun(operation: String, command: [String], error: SpawnError)
    /// A network name or container ID outside the CNI character set (alphanumerics, `_ - .`).
    case invalidName(what: String, value: String)
    /// The comment would exceed iptables' 255-byte limit.
    case commentTooLong(String)
    /// CHECK: the attachment's rules are not as install leaves them.
    case notAsInstalled(chain: String, problems: [String])

    public var description: String {
        switch self {
        case .commandFailed(let op, let cmd, let status, let stderr, let script):
            var s = "\(op): `\(cmd.joined(separator: " "))` exited with status \(status)"
            let err = stderr.split(separator: "\n").joined(separator: "; ")
            if !err.isEmpty { s += ": \(err)" }
            if let script, let line = Self.failedLine(stderr: stderr, script: script) {
                s += " (script line: \(line))"
            }
            return s
        case .couldNotRun(let op, let cmd, let error):
            return "\(op): could not run `\(cmd.joined(separator: " "))`: \(error)"
        case .invalidName(let what, let value):
            return "invalid \(what) \"\(value)\": only letters, digits, '_', '-' and '.' are allowed"
        case .commentTooLong(let c):
            return "iptables comment too long (\(c.utf8.count) bytes, at most 255): \(c)"
        case .notAsInstalled(let chain, let problems):
            return "masquerade chain \(chain): " + problems.joined(separator: "; ")
        }
    }

    /// ip6tables-restore reports `line N failed`; show that line of the script.
    static func failedLine(stderr: String, script: String) -> String? {
        let words = stderr.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard let at = words.firstIndex(of: "line"), at + 1 < words.count else { return nil }
        let digits = words[at + 1].prefix { $0.isNumber }
        guard let n = Int(digits), n >= 1 else { return nil }
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false)
        return n <= lines.count ? String(lines[n - 1]) : nil
    }
}
