/// Chain and comment naming, identical to the reference plugins' `utils.FormatChainName` and
/// `utils.FormatComment`, so that the chains of either can be found, removed and collected by the
/// other on the same node.
enum Naming {
    static let chainPrefix = "CNI-"
    /// iptables' chain name limit as the reference counts it (`utils.MaxChainLength`).
    static let maxChainLength = 28
    /// `XT_MAX_COMMENT_LEN` is 256 including the terminating NUL.
    static let maxCommentLength = 255

    /// `"CNI-" + hex(sha512(network + containerID))`, truncated to 28 characters.
    static func chainName(network: String, containerID: String) -> String {
        String((chainPrefix + SHA512.hexDigest(Array((network + containerID).utf8))).prefix(maxChainLength))
    }

    /// `name: "<network>" id: "<containerID>"`, each quoted as Go's `%q` quotes it.
    static func comment(network: String, containerID: String) -> String {
        "name: \(goQuote(network)) id: \(goQuote(containerID))"
    }

    /// The network and container ID from a comment `comment(network:containerID:)` made, or nil.
    static func parseComment(_ text: String) -> (network: String, containerID: String)? {
        var rest = Substring(text)
        guard rest.hasPrefix("name: ") else { return nil }
        rest = rest.dropFirst(6)
        guard let network = goUnquote(&rest), rest.hasPrefix(" id: ") else { return nil }
        rest = rest.dropFirst(5)
        guard let id = goUnquote(&rest), rest.isEmpty else { return nil }
        return (network, id)
    }

    /// CNI: network names and container IDs hold only alphanumerics, `_`, `-` and `.`. Anything
    /// else is refused before it reaches an ip6tables-restore script.
    static func isValidName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)
                || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }
    }

    /// Go `strconv.Quote` for the characters that can matter here: `"` and `\` escaped, control
    /// characters as `\n`, `\t`, `\xNN`… Printable Unicode stays as it is, as in Go.
    static func goQuote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{0B}": out += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Reads one Go-quoted string from the front of `s` (the escapes `goQuote` writes).
    private static func goUnquote(_ s: inout Substring) -> String? {
        guard s.first == "\"" else { return nil }
        var out = ""
        var i = s.unicodeScalars.index(after: s.unicodeScalars.startIndex)
        let scalars = s.unicodeScalars
        while i < scalars.endIndex {
            let c = scalars[i]
            if c == "\"" {
                s = Substring(scalars[scalars.index(after: i)...])
                return out
            }
            if c == "\\" {
                i = scalars.index(after: i)
                guard i < scalars.endIndex else { return nil }
                switch scalars[i] {
                case "\"": out += "\""
                case "\\": out += "\\"
                case "n": out += "\n"
                case "t": out += "\t"
                case "r": out += "\r"
                case "a": out += "\u{07}"
                case "b": out += "\u{08}"
                case "f": out += "\u{0C}"
                case "v": out += "\u{0B}"
                case "x":
                    let h1 = scalars.index(after: i)
                    guard h1 < scalars.endIndex else { return nil }
                    let h2 = scalars.index(after: h1)
                    guard h2 < scalars.endIndex,
                          let v = UInt8(String(scalars[h1...h2]), radix: 16) else { return nil }
                    out.unicodeScalars.append(Unicode.Scalar(v))
                    i = h2
                default: return nil
                }
            } else {
                out.unicodeScalars.append(c)
            }
            i = scalars.index(after: i)
        }
        return nil
    }
}
