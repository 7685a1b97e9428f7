import Foundation
import Testing

/// ADD wall time of ptp6 against the reference ptp (+ reference host-local), same node, same run.
/// Prints both medians; asserts only that ptp6 stays under 500 ms (the reference waits for DAD).
@Suite(.enabled(if: PluginProcess.isRoot), .serialized)
struct Ptp6TimingTests {
    static let pods = 5

    @Test("ADD wall time: ptp6 vs reference ptp")
    func addTiming() throws {
        let lab = try Ptp6Lab(network: "p6time")
        defer { lab.destroy() }
        let clock = ContinuousClock()
        var ours: [Duration] = [], theirs: [Duration] = []
        var attachments: [(plugin: String, id: String, pod: String, result: [String: Any])] = []
        defer {
            // Release what the reference made too, while the node namespace still exists.
            for a in attachments {
                if a.plugin == "ptp" {
                    var conf = Self.referenceConfig(lab)
                    conf["prevResult"] = a.result
                    _ = try? lab.reference("ptp", "DEL", id: a.id, pod: a.pod, config: conf)
                } else {
                    var conf = lab.config()
                    conf["prevResult"] = a.result
                    _ = try? lab.ptp6("DEL", id: a.id, pod: a.pod, config: conf)
                }
            }
        }
        let haveReference = FileManager.default.isExecutableFile(atPath: "\(PluginProcess.referenceDir)/ptp")
            && FileManager.default.isExecutableFile(atPath: "\(PluginProcess.referenceDir)/host-local")

        for i in 0..<Self.pods {
            // Alternate, so both see the same machine load.
            let pod = try lab.addPod()
            let start = clock.now
            let add = try lab.ptp6("ADD", id: "t\(i)", pod: pod, config: lab.config())
            ours.append(clock.now - start)
            try #require(add.status == 0, "ptp6 ADD: \(add.stdout)")
            attachments.append(("ptp6", "t\(i)", pod, add.json))

            guard haveReference else { continue }
            let refPod = try lab.addPod()
            let refStart = clock.now
            let ref = try lab.reference("ptp", "ADD", id: "r\(i)", pod: refPod, config: Self.referenceConfig(lab))
            theirs.append(clock.now - refStart)
            try #require(ref.status == 0, "reference ptp ADD: \(ref.stdout) \(ref.stderr)")
            attachments.append(("ptp", "r\(i)", refPod, ref.json))
        }

        let ourMedian = Self.median(ours)
        print("ptp6 ADD median over \(ours.count) pods: \(Self.ms(ourMedian)) (all: \(ours.map(Self.ms).joined(separator: ", ")))")
        if haveReference {
            let theirMedian = Self.median(theirs)
            print("reference ptp ADD median over \(theirs.count) pods: \(Self.ms(theirMedian)) (all: \(theirs.map(Self.ms).joined(separator: ", ")))")
            print(String(format: "reference / ptp6 = %.1f×", Self.seconds(theirMedian) / Self.seconds(ourMedian)))
        } else {
            print("reference ptp/host-local not installed in \(PluginProcess.referenceDir): no comparison")
        }
        #expect(ourMedian < .milliseconds(500), "ptp6 ADD median \(Self.ms(ourMedian))")
    }

    /// The reference ptp with the reference host-local: same shape as ptp6's (ULA /64, default
    /// route, masquerade), its own subnet and network name so the two never share leases.
    static func referenceConfig(_ lab: Ptp6Lab) -> [String: Any] {
        [
            "cniVersion": "1.0.0", "name": "p6ref", "type": "ptp", "ipMasq": true,
            "ipam": [
                "type": "host-local", "ranges": [[["subnet": "fd42:4::/64"]]],
                "routes": [["dst": "::/0"]], "dataDir": lab.data.path,
            ] as [String: Any],
        ]
    }

    static func median(_ values: [Duration]) -> Duration {
        let s = values.sorted()
        return s.isEmpty ? .zero : s[s.count / 2]
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func ms(_ d: Duration) -> String { String(format: "%.1f ms", seconds(d) * 1000) }
}
