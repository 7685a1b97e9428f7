// The text initializers have String and Substring overloads besides `some StringProtocol`: called
// from another module, a generic initializer runs unspecialized and resolves the string type's
// associated types at run time, which cost host-local6 about a fifth of its instructions per call.
// Inside this module each overload gets a specialized copy of the parser.

extension IPv6Address {
    public init?(_ text: some StringProtocol) { self.init(parsing: text) }
    public init?(_ text: String) { self.init(parsing: text) }
    public init?(_ text: Substring) { self.init(parsing: text) }
}

extension IPv4Address {
    public init?(_ text: some StringProtocol) { self.init(parsing: text) }
    public init?(_ text: String) { self.init(parsing: text) }
    public init?(_ text: Substring) { self.init(parsing: text) }
}

extension IPAddress {
    public init?(_ text: some StringProtocol) { self.init(parsing: text) }
    public init?(_ text: String) { self.init(parsing: text) }
    public init?(_ text: Substring) { self.init(parsing: text) }
}

extension IPPrefix {
    /// `addr/len`; without `/len` only when `defaultFullLength` (then /128 or /32).
    public init?(_ text: some StringProtocol, defaultFullLength: Bool = false) { self.init(parsing: text, defaultFullLength: defaultFullLength) }
    public init?(_ text: String, defaultFullLength: Bool = false) { self.init(parsing: text, defaultFullLength: defaultFullLength) }
    public init?(_ text: Substring, defaultFullLength: Bool = false) { self.init(parsing: text, defaultFullLength: defaultFullLength) }
}
