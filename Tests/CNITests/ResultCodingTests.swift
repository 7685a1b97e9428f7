import Testing
import IPAddressing
@testable import CNI

@Suite struct ResultCodingTests {
    @Test func prevResultInEveryVersionReadsBack() throws {
        let r = EchoPlugin().result
        for v in CNIVersion.supported {
            let json = try r.json(version: v)
            let back = try CNIResult(json: json, defaultVersion: v)
            #expect(back.ips.map(\.address).contains(IPPrefix("fd42:1::5/64")!))
            if v >= .v030 {
                #expect(back.interfaces.map(\.name) == ["cni6", "eth0"])
                #expect(back.ips.map(\.interface) == [1, 1])
                #expect(back.routes.count == 2)
            } else {
                #expect(back.routes.map(\.dst.description).sorted() == ["0.0.0.0/0", "::/0"])
            }
            #expect(back.dns.nameservers == ["fd42:1::53"])
        }
    }

    @Test func interfaceIndexZeroIsWritten() throws {
        let r = CNIResult(interfaces: [.init(name: "eth0")], ips: [.init(address: IPPrefix("fd42::2/64")!, interface: 0)])
        #expect(try r.json(version: .v100).serialized().contains(#""interface":0"#))
    }

    @Test func badPrevResultNamesTheField() {
        let json: JSONValue = .object([("cniVersion", .string("1.0.0")), ("ips", .array([.object([("address", .string("nope"))])]))])
        do {
            _ = try CNIResult(json: json, defaultVersion: .v100)
            Issue.record("accepted a bad address")
        } catch {
            #expect(error.msg.contains("ips[0].address"))
        }
    }

    @Test func jsonStringEscaping() throws {
        let v: JSONValue = .object([("m", .string("a\"b\\c\nd\u{1}"))])
        #expect(v.serialized() == #"{"m":"a\"b\\c\nd\u0001"}"#)
        #expect(try JSONValue.parse(Array(v.serialized().utf8)) == v)
    }

    @Test func validAttachments() throws {
        func req(_ extra: String) throws -> Request {
            let env = try Environment(command: .gc, variables: ["CNI_COMMAND": "GC", "CNI_PATH": "/x"])
            return try Request(env: env, rawConfig: Array(#"{"cniVersion":"1.1.0","name":"n","type":"t"\#(extra)}"#.utf8))
        }
        #expect(try req("").validAttachments() == nil)
        #expect(try req(#","cni.dev/valid-attachments":[]"#).validAttachments() == [])
        #expect(try req(#","cni.dev/valid-attachments":null"#).validAttachments() == [])
        #expect(try req(#","cni.dev/attachments":[{"containerID":"a","ifname":"eth0"}]"#).validAttachments()
                == [Attachment(containerID: "a", ifname: "eth0")])
    }
}
