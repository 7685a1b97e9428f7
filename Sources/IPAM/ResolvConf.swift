import CNI

/// Reads a resolv.conf-style file into the result's DNS section (`resolvConf` option).
enum ResolvConf {
    static func parse(_ text: String) -> CNIResult.DNS {
        var dns = CNIResult.DNS()
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let key = fields.first else { continue }
            let values = Array(fields.dropFirst())
            switch key {
            case "nameserver": if let v = values.first { dns.nameservers = (dns.nameservers ?? []) + [v] }
            case "domain": dns.domain = values.first
            case "search": dns.search = (dns.search ?? []) + values
            case "options": dns.options = (dns.options ?? []) + values
            default: continue
            }
        }
        return dns
    }
}
