/// The `nat` table as `ip6tables-save -t nat` prints it: the chains declared and every rule.
/// Only what removal and GC need is interpreted (target and comment); a rule's text is kept
/// verbatim so that it can be deleted with exactly the spec it was saved with.
struct NatTable: Equatable {
    struct Rule: Equatable {
        /// The chain the rule is in.
        var chain: String
        /// Everything after `-A <chain> `, as saved.
        var spec: String
        /// The `-j`/`-g` target, if any.
        var target: String?
        /// The `--comment` text, unquoted.
        var comment: String?
    }

    var chains: [String] = []
    var rules: [Rule] = []

    init(chains: [String] = [], rules: [Rule] = []) {
        self.chains = chains
        self.rules = rules
    }

    /// Parses save output. Lines outside `*nat` … `COMMIT` and `#` comments are skipped.
    init(parsing text: String) {
        var inNat = false
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("*") { inNat = line == "*nat"; continue }
            guard inNat else { continue }
            if line == "COMMIT" { inNat = false; continue }
            if line.hasPrefix(":") {
                if let name = line.dropFirst().split(separator: " ").first { chains.append(String(name)) }
                continue
            }
            guard line.hasPrefix("-A ") else { continue }
            let tokens = Self.tokenize(line)
            guard tokens.count >= 2 else { continue }
            let chain = tokens[1]
            let afterChain = line.dropFirst(3).drop { $0 != " " }.dropFirst()
            var target: String?
            var comment: String?
            var i = 2
            while i < tokens.count {
                switch tokens[i] {
                case "-j", "--jump", "-g", "--goto":
                    if i + 1 < tokens.count { target = tokens[i + 1]; i += 1 }
                case "--comment":
                    if i + 1 < tokens.count { comment = tokens[i + 1]; i += 1 }
                default: break
                }
                i += 1
            }
            rules.append(Rule(chain: chain, spec: String(afterChain), target: target, comment: comment))
        }
    }

    func hasChain(_ name: String) -> Bool { chains.contains(name) }

    /// Rules in any chain that jump or go to `chain`.
    func rules(targeting chain: String) -> [Rule] { rules.filter { $0.target == chain } }

    /// Splits a rule line into arguments the way iptables-restore does (`add_param_to_argv`):
    /// whitespace separates, `"` opens and closes a quoted part, and inside quotes `\` escapes
    /// the next character.
    static func tokenize(_ line: some StringProtocol) -> [String] {
        var tokens: [String] = []
        var current = ""
        var hasToken = false
        var quoted = false
        var escaped = false
        for c in line {
            if quoted {
                if escaped { current.append(c); escaped = false }
                else if c == "\\" { escaped = true }
                else if c == "\"" { quoted = false }
                else { current.append(c) }
                continue
            }
            switch c {
            case "\"": quoted = true; hasToken = true
            case " ", "\t":
                if hasToken { tokens.append(current); current = ""; hasToken = false }
            default: current.append(c); hasToken = true
            }
        }
        if hasToken { tokens.append(current) }
        return tokens
    }
}
