import Testing
@testable import CNI

@Suite struct EnvironmentTests {
    let full = ["CNI_COMMAND": "ADD", "CNI_CONTAINERID": "abc", "CNI_NETNS": "/run/netns/x",
                "CNI_IFNAME": "eth0", "CNI_PATH": "/opt/cni/bin:/usr/lib/cni"]

    @Test func requiredVariablesPerVerb() throws {
        for (command, required) in [(Command.add, ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]),
                                    (.check, ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"]),
                                    (.del, ["CNI_CONTAINERID", "CNI_IFNAME", "CNI_PATH"]),
                                    (.gc, ["CNI_PATH"]), (.status, ["CNI_PATH"])] {
            #expect(throws: Never.self) { try Environment(command: command, variables: full) }
            for name in required {
                var env = full
                env[name] = nil
                #expect(throws: CNIError(.invalidEnvironment, "required env variables [\(name)] missing")) {
                    try Environment(command: command, variables: env)
                }
            }
        }
        // DEL without a netns is fine (the pod's namespace may be gone).
        var env = full
        env["CNI_NETNS"] = nil
        #expect(try Environment(command: .del, variables: env).netns == "")
    }

    @Test func allMissingReportedAtOnce() {
        #expect(throws: CNIError(.invalidEnvironment, "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing")) {
            try Environment(command: .add, variables: [:])
        }
    }

    @Test(arguments: ["", "a/b", "a:b", "a b", "a\tb", ".", "..", "0123456789abcdef"])
    func badInterfaceNames(_ name: String) {
        var env = full
        env["CNI_IFNAME"] = name
        if name.isEmpty {
            #expect(throws: CNIError.self) { try Environment(command: .add, variables: env) }
            return
        }
        do {
            _ = try Environment(command: .add, variables: env)
            Issue.record("accepted interface name \(name)")
        } catch {
            #expect(error.code == 4)
            #expect(error.msg.contains("CNI_IFNAME"))
        }
    }

    @Test func goodInterfaceNames() throws {
        for name in ["eth0", "net1", "a", "012345678901234", "veth-x_y.z"] {
            var env = full
            env["CNI_IFNAME"] = name
            #expect(try Environment(command: .add, variables: env).ifname == name)
        }
    }

    @Test(arguments: ["../etc", "a/b", "-abc", "_x", "a b", String(repeating: "a", count: 201)])
    func badContainerIDs(_ id: String) {
        var env = full
        env["CNI_CONTAINERID"] = id
        do {
            _ = try Environment(command: .add, variables: env)
            Issue.record("accepted container ID \(id)")
        } catch {
            #expect(error.code == 4)
            #expect(error.msg.contains("CNI_CONTAINERID"))
        }
    }

    @Test func cniArgs() throws {
        let a = try CNIArgs(parsing: "IgnoreUnknown=1;K8S_POD_NAME=web;IP=fd42::5;MAC=c2:11:22:33:44:55")
        #expect(a["IP"] == "fd42::5")
        #expect(a["MAC"] == "c2:11:22:33:44:55")
        #expect(a.ignoreUnknown)
        #expect(throws: Never.self) { try a.validate(known: []) }
        let strict = try CNIArgs(parsing: "FOO=bar;K8S_POD_NAME=x")
        #expect(throws: CNIError.self) { try strict.validate(known: ["IP"]) }
        #expect(throws: Never.self) { try strict.validate(known: ["FOO"]) }
        #expect(throws: CNIError.self) { try CNIArgs(parsing: "novalue") }
        #expect(try CNIArgs(parsing: "").pairs.isEmpty)
    }
}
