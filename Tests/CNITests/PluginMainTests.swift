import Testing
import IPAddressing
@testable import CNI

/// A plugin that records what it was asked and answers a fixed result.
struct EchoPlugin: Plugin {
    var result = CNIResult(
        interfaces: [.init(name: "cni6", mac: "0a:00:00:00:00:01", mtu: 1500),
                     .init(name: "eth0", mac: "0a:00:00:00:00:02", mtu: 1500, sandbox: "/run/netns/p")],
        ips: [.init(address: IPPrefix("fd42:1::5/64")!, gateway: IPAddress("fd42:1::1"), interface: 1),
              .init(address: IPPrefix("10.1.2.5/24")!, gateway: IPAddress("10.1.2.1"), interface: 1)],
        routes: [.init(dst: IPPrefix("::/0")!, gw: IPAddress("fd42:1::1"), mtu: 1400, priority: 100),
                 .init(dst: IPPrefix("0.0.0.0/0")!)],
        dns: .init(nameservers: ["fd42:1::53"]))
    var fail: CNIError? = nil
    var about: String { "echo plugin" }
    func add(_ r: Request) throws -> CNIResult { if let fail { throw fail }; return result }
    func del(_ r: Request) throws { if let fail { throw fail } }
    func check(_ r: Request) throws { if let fail { throw fail } }
    func status(_ r: Request) throws { if let fail { throw fail } }
    func gc(_ r: Request) throws { if let fail { throw fail } }
}

@Suite struct PluginMainTests {
    func env(_ command: String) -> [String: String] {
        ["CNI_COMMAND": command, "CNI_CONTAINERID": "abc", "CNI_NETNS": "/run/netns/p", "CNI_IFNAME": "eth0", "CNI_PATH": "/x"]
    }

    func run(_ command: String, _ config: String, plugin: EchoPlugin = EchoPlugin(), env extra: [String: String] = [:]) -> PluginMain.Outcome {
        PluginMain.handle(plugin, environment: env(command).merging(extra) { $1 }, readStdin: { Array(config.utf8) })
    }

    func conf(_ version: String?) -> String {
        let v = version.map { "\"cniVersion\":\"\($0)\"," } ?? ""
        return "{\(v)\"name\":\"net\",\"type\":\"echo\"}"
    }

    @Test func versionNeedsNoStdinNorNetns() {
        let out = PluginMain.handle(EchoPlugin(), environment: ["CNI_COMMAND": "VERSION", "CNI_NETNS": "dummy"],
                                    readStdin: { Issue.record("read stdin"); return [] })
        #expect(out.exitCode == 0)
        #expect(out.stdout == #"{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}"#)
    }

    @Test func emptyCommandPrintsAbout() {
        let out = PluginMain.handle(EchoPlugin(), environment: [:], readStdin: { [] })
        #expect(out.exitCode == 0)
        #expect(out.stdout.isEmpty)
        #expect(out.stderr.contains("echo plugin"))
        #expect(out.stderr.contains("0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"))
    }

    @Test func unknownCommand() {
        let out = run("FROB", conf("1.0.0"))
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains(#""code":4"#))
        #expect(out.stdout.contains("FROB"))
    }

    @Test func result_1_0_0() {
        let out = run("ADD", conf("1.0.0"))
        #expect(out.exitCode == 0)
        #expect(out.stdout == #"{"cniVersion":"1.0.0","interfaces":[{"name":"cni6","mac":"0a:00:00:00:00:01","mtu":1500},{"name":"eth0","mac":"0a:00:00:00:00:02","mtu":1500,"sandbox":"/run/netns/p"}],"ips":[{"interface":1,"address":"fd42:1::5/64","gateway":"fd42:1::1"},{"interface":1,"address":"10.1.2.5/24","gateway":"10.1.2.1"}],"routes":[{"dst":"::/0","gw":"fd42:1::1","mtu":1400,"priority":100},{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["fd42:1::53"]}}"#)
    }

    @Test func result_0_4_0_hasIPVersionAndNoInterfaceMTU() {
        let out = run("ADD", conf("0.4.0"))
        #expect(out.stdout == #"{"cniVersion":"0.4.0","interfaces":[{"name":"cni6","mac":"0a:00:00:00:00:01"},{"name":"eth0","mac":"0a:00:00:00:00:02","sandbox":"/run/netns/p"}],"ips":[{"version":"6","interface":1,"address":"fd42:1::5/64","gateway":"fd42:1::1"},{"version":"4","interface":1,"address":"10.1.2.5/24","gateway":"10.1.2.1"}],"routes":[{"dst":"::/0","gw":"fd42:1::1","mtu":1400,"priority":100},{"dst":"0.0.0.0/0"}],"dns":{"nameservers":["fd42:1::53"]}}"#)
    }

    @Test func result_0_2_0_isIp4Ip6() {
        let out = run("ADD", conf("0.2.0"))
        #expect(out.stdout == #"{"cniVersion":"0.2.0","ip4":{"ip":"10.1.2.5/24","gateway":"10.1.2.1","routes":[{"dst":"0.0.0.0/0"}]},"ip6":{"ip":"fd42:1::5/64","gateway":"fd42:1::1","routes":[{"dst":"::/0","gw":"fd42:1::1"}]},"dns":{"nameservers":["fd42:1::53"]}}"#)
    }

    @Test func missingVersionMeansZeroOneZero() {
        let out = run("ADD", conf(nil))
        #expect(out.stdout.hasPrefix(#"{"cniVersion":"0.1.0","ip4""#))
    }

    @Test func legacyVersionWithoutAddressesFails() {
        var p = EchoPlugin()
        p.result.ips = []
        let out = run("ADD", conf("0.2.0"), plugin: p)
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains("no valid IP addresses"))
        #expect(run("ADD", conf("1.0.0"), plugin: p).exitCode == 0)
    }

    @Test func versionGates() {
        for (command, version) in [("CHECK", "0.3.1"), ("STATUS", "1.0.0"), ("GC", "1.0.0")] {
            let out = run(command, conf(version))
            #expect(out.exitCode == 1)
            #expect(out.stdout.contains(#""code":1"#), "\(command) \(version): \(out.stdout)")
            #expect(out.stdout.contains(command))
        }
        #expect(run("CHECK", conf("0.4.0")).exitCode == 0)
        #expect(run("STATUS", conf("1.1.0")).exitCode == 0)
        #expect(run("GC", conf("1.1.0")).exitCode == 0)
    }

    @Test(arguments: ["9.9.9", "1.0", "x", "1.0.0.0"])
    func unknownVersionIsCode1(_ v: String) {
        let out = run("ADD", conf(v))
        #expect(out.exitCode == 1)
        #expect(out.stdout.contains(#""code":1"#))
        #expect(out.stdout.contains(v))
    }

    @Test func decodeFailures() {
        #expect(run("ADD", "{not json").stdout.contains(#""code":6"#))
        #expect(run("ADD", "[1,2]").stdout.contains(#""code":6"#))
        #expect(run("ADD", #"{"cniVersion":1,"name":"n"}"#).stdout.contains(#""code":6"#))
    }

    @Test func networkNameRules() {
        #expect(run("ADD", #"{"cniVersion":"1.0.0","type":"echo"}"#).stdout.contains(#""code":7"#))
        let bad = run("ADD", #"{"cniVersion":"1.0.0","name":"../etc","type":"echo"}"#)
        #expect(bad.stdout.contains(#""code":7"#))
        #expect(bad.stdout.contains("../etc"))
    }

    @Test func errorsCarryRequestVersionAndCode() {
        var p = EchoPlugin()
        p.fail = CNIError(.tryAgainLater, "busy", details: "lock")
        let out = run("DEL", conf("0.4.0"), plugin: p)
        #expect(out.exitCode == 1)
        #expect(out.stdout == #"{"cniVersion":"0.4.0","code":11,"msg":"busy","details":"lock"}"#)
    }

    @Test func oversizedStdinIsRefused() {
        let tooLarge: () throws(CNIError) -> [UInt8] = { () throws(CNIError) -> [UInt8] in
            throw CNIError(.invalidNetworkConfig, "too large")
        }
        let out = PluginMain.handle(EchoPlugin(), environment: env("ADD"), readStdin: tooLarge)
        #expect(out.stdout.contains(#""code":7"#))
    }
}
