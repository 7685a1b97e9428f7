import CLinux
import CNI
import Spawn

/// host-local6 run inside bridge6 or ptp6 instead of as a child process, when the file CNI_PATH
/// names is the host-local6 built with them: hack/build.sh writes that binary's GNU build-id (a
/// hash of its bytes) into bridge6 and ptp6. The same code then gets the same environment and
/// configuration and answers with the same bytes, without a process start (ADD: 1.2–1.8 ms of
/// wall time and 1.1–1.6 ms of CPU less, docs/benchmarks.md). Any other file (another build, a
/// wrapper script, the reference plugin) runs as a child, as libcni would run it.
enum CompanionIPAM {
    /// True when `path` is the host-local6 this executable was built with.
    static func isCompanion(_ path: String) -> Bool {
        var expected = [UInt8](repeating: 0, count: 20)
        guard v6cni_companion_ipam_id(&expected) == 20 else { return false }
        var found = [UInt8](repeating: 0, count: 64)
        return v6cni_elf_build_id(path, &found, Int32(found.count)) == 20 && found.prefix(20).elementsEqual(expected)
    }

    /// What host-local6 would print and exit with, given `environment` and `config` on stdin.
    static func run(environment: [String: String], config: [UInt8]) -> SpawnResult {
        let outcome = PluginMain.handle(HostLocal(), environment: environment,
                                        readStdin: { () throws(CNIError) -> [UInt8] in config })
        return SpawnResult(status: outcome.exitCode, stdout: Array(outcome.stdout.utf8), stderr: Array(outcome.stderr.utf8))
    }
}
