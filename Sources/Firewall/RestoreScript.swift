import IPAddressing

/// The ip6tables-restore scripts, as pure functions of what is wanted and what the table holds.
/// Every rule is written in the exact form `ip6tables-save` prints it back, so that a saved rule
/// can be compared with a wanted one as text (CHECK) and install can recognise its own jumps.
enum RestoreScript {
    /// `"…"` as iptables-restore unquotes it: `\` and `"` escaped with `\`.
    static func quoted(_ s: String) -> String {
        var out = "\""
        for c in s {
            if c == "\\" || c == "\"" { out.append("\\") }
            out.append(c)
        }
        return out + "\""
    }

    static func commentMatch(_ comment: String) -> String { "-m comment --comment \(quoted(comment))" }

    /// `-d <prefix> ` (nothing for ::/0, which ip6tables-save omits), host bits cleared as the
    /// kernel stores it.
    static func destination(_ p: IPPrefix) -> String {
        p.length == 0 ? "" : "-d \(p.network) "
    }

    /// The rules of an attachment's chain, in order: keep the source towards ULA, multicast and
    /// each `except` prefix; masquerade everything else.
    static func chainRules(comment: String, except: [IPPrefix]) -> [String] {
        let c = commentMatch(comment)
        var accepted = [IPPrefix.ula, IPPrefix.multicastV6]
        for p in except where p.family == .v6 {
            let net = p.network
            if !accepted.contains(where: { $0.contains(net) }) { accepted.append(net) }
        }
        return accepted.map { "\(destination($0))\(c) -j ACCEPT" } + ["\(c) -j MASQUERADE"]
    }

    /// The POSTROUTING rule that sends one pod address's traffic to its chain.
    static func jump(from address: IPAddress, chain: String, comment: String) -> String {
        "-s \(address)/\(address.bitWidth) \(commentMatch(comment)) -j \(chain)"
    }

    static func wrap(_ lines: [String]) -> String {
        (["*nat"] + lines + ["COMMIT"]).joined(separator: "\n") + "\n"
    }

    /// ADD's first try, for a chain that does not exist yet: `-N` creates it and fails the whole
    /// transaction when it exists (then `install(…current:)` is used with the saved table). A chain
    /// that does not exist has no jumps to it, so nothing else has to be known.
    static func freshInstall(chain: String, comment: String, addresses: [IPAddress], except: [IPPrefix]) -> String {
        wrap(["-N \(chain)"]
             + chainRules(comment: comment, except: except).map { "-A \(chain) \($0)" }
             + addresses.map { "-A POSTROUTING \(jump(from: $0, chain: chain, comment: comment))" })
    }

    /// Creates or rewrites the chain (declared, then flushed, then filled), deletes the jumps to it
    /// that are not wanted (another address, a copy, a jump from another chain) and appends the
    /// wanted jumps `current` does not already have. Re-running it changes nothing.
    static func install(chain: String, comment: String, addresses: [IPAddress], except: [IPPrefix],
                        current: NatTable) -> String {
        var lines = [":\(chain) - [0:0]", "-F \(chain)"]
        lines += chainRules(comment: comment, except: except).map { "-A \(chain) \($0)" }
        var missing = addresses.map { jump(from: $0, chain: chain, comment: comment) }
        for rule in current.rules(targeting: chain) {
            if rule.chain == "POSTROUTING", let i = missing.firstIndex(of: rule.spec) {
                missing.remove(at: i)  // already there: keep it, and delete any copy of it
            } else {
                lines.append("-D \(rule.chain) \(rule.spec)")
            }
        }
        lines += missing.map { "-A POSTROUTING \($0)" }
        return wrap(lines)
    }

    /// DEL when the pod addresses are known: delete exactly the jumps install made, then the
    /// chain. Fails as a whole when any of it is missing (then `removal(chain:current:)` is used).
    static func fastRemove(chain: String, comment: String, addresses: [IPAddress]) -> String {
        wrap(addresses.map { "-D POSTROUTING \(jump(from: $0, chain: chain, comment: comment))" }
             + ["-F \(chain)", "-X \(chain)"])
    }

    /// Deletes every rule that jumps to `chain`, as saved, then the chain itself if it exists.
    /// nil when `current` has neither (nothing to do).
    static func removal(chain: String, current: NatTable) -> String? {
        var lines = current.rules(targeting: chain).map { "-D \($0.chain) \($0.spec)" }
        if current.hasChain(chain) { lines += ["-F \(chain)", "-X \(chain)"] }
        return lines.isEmpty ? nil : wrap(lines)
    }
}
