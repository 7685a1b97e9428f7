import Testing
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

@Suite struct JSONValueDecoderTests {
    struct Range: Decodable { var subnet: String; var mtu: UInt16? }
    struct Config: Decodable {
        var name: String
        var isGateway: Bool?
        var ranges: [[Range]]
        var extra: [String: Int]?
        var ipam: JSONValue?
    }

    func decode(_ text: String) throws -> Config { try JSONValue.parse(Array(text.utf8)).decode(Config.self) }

    func message(_ text: String) -> String {
        do { _ = try decode(text); return "decoded" } catch let e as DecodingError { return e.fieldMessage } catch { return "\(error)" }
    }

    @Test func decodesNestedTypedValuesAndKeepsRawJSON() throws {
        let c = try decode(#"{"name":"n","ranges":[[{"subnet":"fd42::/64","mtu":1500}]],"extra":{"a":1},"ipam":{"type":"x","k":[1]},"isGateway":null}"#)
        #expect(c.name == "n" && c.isGateway == nil)
        #expect(c.ranges[0][0].subnet == "fd42::/64" && c.ranges[0][0].mtu == 1500)
        #expect(c.extra == ["a": 1])
        #expect(c.ipam == .object([("type", .string("x")), ("k", .array([.int(1)]))]))
    }

    @Test func errorsNameTheFieldPath() {
        #expect(message(#"{"name":"n","ranges":[[{"subnet":5}]]}"#) == #"field "ranges[0][0].subnet": expected a string"#)
        #expect(message(#"{"name":"n","ranges":[[{"subnet":"s","mtu":70000}]]}"#) == #"field "ranges[0][0].mtu": 70000 does not fit in an integer"#)
        #expect(message(#"{"name":"n","ranges":[[{"subnet":"s","mtu":1.5}]]}"#) == #"field "ranges[0][0].mtu": 1.5 does not fit in an integer"#)
        #expect(message(#"{"ranges":[]}"#) == #"missing field "name""#)
        #expect(message(#"{"name":"n","ranges":{}}"#) == #"field "ranges": expected a list"#)
        #expect(message(#"{"name":"n","ranges":[],"isGateway":"yes"}"#) == #"field "isGateway": expected a boolean"#)
        #expect(message(#"{"name":null,"ranges":[]}"#) == #"field "name": expected a string, got null"#)
    }
}
