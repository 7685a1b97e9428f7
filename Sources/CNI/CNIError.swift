/// A CNI error: the spec's code, a message that names the field and the value, optional details.
/// Printed as JSON on stdout; the process then exits non-zero.
public struct CNIError: Error, Equatable, CustomStringConvertible, Sendable {
    public var code: Int
    public var msg: String
    public var details: String

    public init(_ code: Code, _ msg: String, details: String = "") {
        self.init(code: code.rawValue, msg, details: details)
    }

    public init(code: Int, _ msg: String, details: String = "") {
        self.code = code
        self.msg = msg
        self.details = details
    }

    public var description: String { details.isEmpty ? msg : "\(msg): \(details)" }

    /// Spec error codes (0–99 reserved by the spec).
    public enum Code: Int, Sendable {
        case incompatibleVersion = 1
        case unsupportedField = 2
        case unknownContainer = 3
        case invalidEnvironment = 4
        case ioFailure = 5
        case decodingFailure = 6
        case invalidNetworkConfig = 7
        case invalidNetns = 8
        case tryAgainLater = 11
        case notAvailable = 50
        case limitedConnectivity = 51
        case internalError = 999
    }

    public func json(cniVersion: String) -> JSONValue {
        var members: [(String, JSONValue)] = [("cniVersion", .string(cniVersion)), ("code", .int(Int64(code))), ("msg", .string(msg))]
        if !details.isEmpty { members.append(("details", .string(details))) }
        return .object(members)
    }

    public static func invalidConfig(_ msg: String, details: String = "") -> CNIError {
        CNIError(.invalidNetworkConfig, msg, details: details)
    }
}
