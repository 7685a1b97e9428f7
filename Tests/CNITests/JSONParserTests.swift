import Testing
import IPAddressing
@testable import CNI

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    @Test func parsesEveryKindOfValue() throws {
        let v = try parse(#" { "a" : [1, -2, 3.5, 1e3, true, false, null], "s": "x\ty\u00e9\ud83d\ude00\/" , "o": {} , "e": [] } "#)
        #expect(v["a"] == .array([.int(1), .int(-2), .double(3.5), .double(1000), .bool(true), .bool(false), .null]))
        #expect(v["s"] == .string("x\tyé😀/"))
        #expect(v["o"] == .object([]))
        #expect(v["e"] == .array([]))
        #expect(v.objectKeys == ["a", "s", "o", "e"])
    }

    @Test func integersStayIntegersUntilTheyOverflow() throws {
        #expect(try parse("9223372036854775807") == .int(Int64.max))
        #expect(try parse("-9223372036854775808") == .int(Int64.min))
        #expect(try parse("9223372036854775808") == .double(9223372036854775808))
        #expect(try parse("-0") == .int(0))
    }

    @Test func duplicateKeysKeepTheLastValueLikeGo() throws {
        let v = try parse(#"{"mtu": 1400, "name": "n", "mtu": 9000}"#)
        #expect(v["mtu"] == .int(9000))
        #expect(v.objectKeys == ["name", "mtu"])
    }

    /// A 1 MiB config may hold ~50k members; the duplicate check must not be a search per member.
    @Test func manyMembersParseInLinearTime() throws {
        let text = "{" + (0..<50_000).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k7\":-1}"
        let clock = ContinuousClock()
        let start = clock.now
        let v = try parse(text)
        #expect(clock.now - start < .seconds(3), "50k members took \(clock.now - start)")
        #expect(v.objectKeys.count == 50_000 && v["k7"] == .int(-1) && v.objectKeys.last == "k7")
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", #"{"a":1,}"#, "01", "1.", ".5", "1e", "-", "+1", "NaN", "Infinity", "tru", "nul",
        "'x'", #""abc"#, "\"a\u{01}b\"", #""\x""#, #""\ud800""#, #""\udc00x""#, #""\ud800\u0041""#, #""\u12g4""#,
        "{} {}", "[1] x", #"{"a" 1}"#, #"{a: 1}"#, "[1 2]", "1e400",
    ])
    func rejectsWhatRFC8259Rejects(_ text: String) {
        #expect(throws: (any Error).self) { try parse(text) }
    }

    @Test func rejectsInvalidUTF8AndExcessiveNesting() {
        #expect(throws: (any Error).self) { try JSONValue.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: (any Error).self) { try JSONValue.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
        #expect(throws: (any Error).self) { try parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) }
        #expect((try? parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))) != nil)
    }

    @Test func errorsSayWhereAndWhat() {
        do {
            _ = try parse(#"{"a": [1, 2,]}"#)
            Issue.record("accepted a trailing comma")
        } catch {
            #expect("\(error)" == "invalid JSON at byte 12: expected a value, got ']'")
        }
    }

    @Test func randomValuesRoundTripThroughSerialization() throws {
        var rng = SystemRandomNumberGenerator()
        func random(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &rng) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &rng))
            case 2: return .int(Int64.random(in: .min ... .max, using: &rng))
            case 3: return .double(Double(Int.random(in: -1000...1000)) + 0.25)
            case 4:
                let scalars = (0..<Int.random(in: 0...8)).map { _ in
                    Unicode.Scalar([0x22, 0x5C, 0x0A, 0x01, 0x41, 0xE9, 0x1F600, 0x7F].randomElement(using: &rng)!)!
                }
                return .string(String(String.UnicodeScalarView(scalars)))
            case 5: return .array((0..<Int.random(in: 0...4)).map { _ in random(depth + 1) })
            default: return .object((0..<Int.random(in: 0...4)).map { k in ("k\(k)", random(depth + 1)) })
            }
        }
        for _ in 0..<500 {
            let v = random(0)
            #expect(try parse(v.serialized()) == v)
        }
    }
}

@Suite struct ConfigFieldTests {
    func field(_ text: String) throws -> ConfigField { ConfigField(try JSONValue.parse(Array(text.utf8)), path: "") }

    /// The message of the error `read` throws, or "read" when it throws none.
    func message(_ text: String, _ read: (ConfigField) throws(CNIError) -> Void) throws -> String {
        let f = try field(text)
        do throws(CNIError) { try read(f); return "read" } catch { return error.msg }
    }

    func subnets(_ f: ConfigField) throws(CNIError) {
        _ = try f["ranges"].list(of: { (set: ConfigField) throws(CNIError) in
            try set.list(of: { (r: ConfigField) throws(CNIError) -> String? in
                guard let r = try r.object() else { return nil }
                _ = try r["mtu"].int()
                return try r["subnet"].required({ (s: ConfigField) throws(CNIError) in try s.string() }, expected: "a string")
            }, expected: "an object")
        }, expected: "a list")
    }

    @Test func readsTypedValuesAndTreatsNullAsAbsent() throws {
        let f = try field(#"{"name":"n","on":true,"mtu":1500,"t":2.5,"whole":3.0,"gw":null,"nets":["fd42::/64"],"dns":{"nameservers":["fd42::53"]}}"#)
        #expect(try f["name"].string() == "n")
        #expect(try f["on"].bool() == true)
        #expect(try f["mtu"].int() == 1500 && f["whole"].int() == 3)
        #expect(try f["t"].double() == 2.5 && f["mtu"].double() == 1500)
        #expect(try f["gw"].address() == nil && f["absent"].string() == nil)
        #expect(try f["nets"].prefixes() == [IPPrefix("fd42::/64")!])
        #expect(try CNIResult.DNS(field: f["dns"]) == CNIResult.DNS(nameservers: ["fd42::53"]))
        #expect(try CNIResult.DNS(field: f["absent"]) == nil)
        #expect(f["dns"]["nameservers"].path == "dns.nameservers")
    }

    @Test func errorsNameTheFieldPath() throws {
        #expect(try message(#"{"ranges":[[{"subnet":"s"}]]}"#, subnets) == "read")
        #expect(try message(#"{"ranges":[[{"subnet":5}]]}"#, subnets) == #"field "ranges[0][0].subnet": expected a string"#)
        #expect(try message(#"{"ranges":[[{"subnet":null}]]}"#, subnets) == #"field "ranges[0][0].subnet": expected a string, got null"#)
        #expect(try message(#"{"ranges":[[{}]]}"#, subnets) == #"missing field "ranges[0][0].subnet""#)
        #expect(try message(#"{"ranges":[[null]]}"#, subnets) == #"field "ranges[0][0]": expected an object, got null"#)
        #expect(try message(#"{"ranges":[{}]}"#, subnets) == #"field "ranges[0]": expected a list"#)
        #expect(try message(#"{"ranges":{}}"#, subnets) == #"field "ranges": expected a list"#)
        #expect(try message(#"{"ranges":[[{"subnet":"s","mtu":1e30}]]}"#, subnets) == #"field "ranges[0][0].mtu": 1e+30 does not fit in an integer"#)
        #expect(try message(#"{"ranges":[[{"subnet":"s","mtu":1.5}]]}"#, subnets) == #"field "ranges[0][0].mtu": 1.5 does not fit in an integer"#)
        #expect(try message(#"{"on":"yes"}"#) { (f: ConfigField) throws(CNIError) in _ = try f["on"].bool() } == #"field "on": expected a boolean"#)
        #expect(try message(#"{"t":"10"}"#) { (f: ConfigField) throws(CNIError) in _ = try f["t"].double() } == #"field "t": expected a number"#)
        #expect(try message(#"{"gw":"nope"}"#) { (f: ConfigField) throws(CNIError) in _ = try f["gw"].address() } == #"field "gw": invalid IP address "nope""#)
        #expect(try message(#"{"n":["fd42::/129"]}"#) { (f: ConfigField) throws(CNIError) in _ = try f["n"].prefixes() } == #"field "n[0]": invalid CIDR "fd42::/129""#)
        #expect(try message(#"{"dns":{"search":"x"}}"#) { (f: ConfigField) throws(CNIError) in _ = try CNIResult.DNS(field: f["dns"]) } == #"field "dns.search": expected a list"#)
        #expect(try message(#"{"dns":{"search":["x"]}}"#) { (f: ConfigField) throws(CNIError) in _ = try CNIResult.DNS(field: f["dns"]) } == "read")
    }
}
