import Glibc
import Testing
@testable import Spawn

/// Deterministic pseudo-random bytes (xorshift64*), so a failing comparison is reproducible.
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var x = seed
    var out = [UInt8]()
    out.reserveCapacity(count)
    while out.count < count {
        x ^= x >> 12; x ^= x << 25; x ^= x >> 27
        let v = x &* 0x2545_F491_4F6C_DD1D
        for i in 0..<8 where out.count < count { out.append(UInt8(truncatingIfNeeded: v >> (8 * i))) }
    }
    return out
}

@Suite("Spawn")
struct SpawnTests {
    @Test func exitCodes() throws {
        #expect(try run("/bin/sh", arguments: ["-c", "exit 0"]).status == 0)
        #expect(try run("/bin/sh", arguments: ["-c", "exit 7"]).status == 7)
        #expect(try run("/bin/sh", arguments: ["-c", "exit 255"]).status == 255)
        #expect(try run("false").status == 1)
    }

    /// start: the child has its (small) input before anyone waits, runs alongside the caller and
    /// other children, and is collected by wait() in any order.
    @Test func startRunsAlongsideTheCaller() throws {
        let dir = "/tmp/v6cni-spawn-\(getpid())"
        mkdir(dir, 0o700)
        defer { _ = unlink("\(dir)/a"); _ = unlink("\(dir)/b"); rmdir(dir) }
        let a = try start("/bin/sh", arguments: ["-c", "read x; echo \"$x\" > \(dir)/a; echo out-$x"], stdin: Array("one\n".utf8))
        let b = try start("/bin/sh", arguments: ["-c", "read x; echo \"$x\" > \(dir)/b; echo err-$x >&2; exit 3"], stdin: Array("two\n".utf8))
        // Both wrote their files without anyone pumping: the input was fed at start.
        var waited = 0
        while (access("\(dir)/a", F_OK) != 0 || access("\(dir)/b", F_OK) != 0) && waited < 5000 {
            usleep(1000); waited += 1
        }
        #expect(waited < 5000)
        let rb = try b.wait()
        let ra = try a.wait()
        #expect(ra.status == 0 && ra.stdoutText == "out-one\n")
        #expect(rb.status == 3 && rb.stderrText == "err-two\n")
    }

    /// A started child nobody waits for is killed and reaped when its handle goes away.
    @Test func unwaitedChildIsReaped() throws {
        var pid: pid_t = 0
        do {
            let c = try start("/bin/sleep", arguments: ["30"])
            pid = c.pid
            #expect(kill(pid, 0) == 0)
        }
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }

    @Test func signalGivesShellStatus() throws {
        #expect(try run("/bin/sh", arguments: ["-c", "kill -TERM $$"]).status == 128 + SIGTERM)
        #expect(try run("/bin/sh", arguments: ["-c", "kill -KILL $$"]).status == 128 + SIGKILL)
    }

    @Test func separatesStdoutAndStderr() throws {
        let r = try run("/bin/sh", arguments: ["-c", "printf out; printf err >&2; exit 3"])
        #expect(r.stdoutText == "out")
        #expect(r.stderrText == "err")
        #expect(r.status == 3)
        #expect(!r.succeeded)
    }

    @Test func argumentsArePassedVerbatim() throws {
        let args = ["a b", "", "é\"'$HOME", "--x=1"]
        let r = try run("/bin/sh", arguments: ["-c", "for a in \"$@\"; do printf '[%s]' \"$a\"; done", "sh"] + args)
        #expect(r.stdoutText == "[a b][][é\"'$HOME][--x=1]")
    }

    /// 1 MiB in, 1 MiB out on stdout and the same on stderr at the same time: a reader that drained
    /// one pipe after the other, or wrote stdin before reading, would deadlock here.
    @Test(.timeLimit(.minutes(1))) func oneMebibyteEachWay() throws {
        let input = pseudoRandomBytes(1 << 20)
        let r = try run("/bin/sh", arguments: ["-c", "tee /dev/stderr"], stdin: input,
                        timeout: .seconds(30))
        #expect(r.status == 0)
        #expect(r.stdout.count == input.count)
        #expect(r.stdout == input)
        #expect(r.stderr == input)
    }

    @Test func childThatIgnoresStdinDoesNotKillUs() throws {
        let r = try run("/bin/sh", arguments: ["-c", "exec 0<&-; echo done"], stdin: pseudoRandomBytes(1 << 20))
        #expect(r.status == 0)
        #expect(r.stdoutText == "done\n")
        let r2 = try run("true", stdin: pseudoRandomBytes(4 << 20))
        #expect(r2.status == 0)
    }

    @Test func emptyStdinIsEOF() throws {
        let r = try run("cat")
        #expect(r.status == 0)
        #expect(r.stdout.isEmpty)
    }

    @Test func missingExecutable() throws {
        #expect(throws: SpawnError.notFound(name: "v6cni-no-such-program", searchPath: currentSearchPath())) {
            try run("v6cni-no-such-program")
        }
        do {
            _ = try run("/nonexistent/v6cni-no-such-program")
            Issue.record("expected an error")
        } catch let e as SpawnError {
            guard case .system(let call, _, let code) = e else { Issue.record("wrong error \(e)"); return }
            #expect(call == "posix_spawn")
            #expect(code == ENOENT)
            #expect(e.description.contains("No such file or directory"))
        }
    }

    @Test func explicitEnvironmentReplacesOurs() throws {
        let r = try run("/usr/bin/env", environment: ["V6CNI_A": "x y", "V6CNI_B": "="])
        let lines = Set(r.stdoutText.split(separator: "\n").map(String.init))
        #expect(lines == ["V6CNI_A=x y", "V6CNI_B=="])
        let empty = try run("/usr/bin/env", environment: [:])
        #expect(empty.stdout.isEmpty)
    }

    @Test func nilEnvironmentInherits() throws {
        let path = currentSearchPath()
        let r = try run("/bin/sh", arguments: ["-c", "printf %s \"$PATH\""])
        #expect(r.stdoutText == path)
    }

    @Test func timeoutKillsTheChild() throws {
        var start = timespec(); clock_gettime(CLOCK_MONOTONIC, &start)
        do {
            _ = try run("sleep", arguments: ["10"], timeout: .milliseconds(200))
            Issue.record("expected a timeout")
        } catch let e as SpawnError {
            guard case .timedOut = e else { Issue.record("wrong error \(e)"); return }
        }
        var end = timespec(); clock_gettime(CLOCK_MONOTONIC, &end)
        #expect(end.tv_sec - start.tv_sec < 5)
        // A timeout that is not reached changes nothing.
        #expect(try run("true", timeout: .seconds(10)).status == 0)
    }

    /// The child sees exactly fds 0, 1, 2: none of the pipes' other ends, and none of the
    /// descriptors the test harness left without O_CLOEXEC.
    @Test func childGetsOnlyStandardDescriptors() throws {
        let r = try run("/bin/sh", arguments: ["-c", "ls /proc/$$/fd"])
        #expect(r.status == 0)
        let fds = Set(r.stdoutText.split(separator: "\n").map(String.init))
        #expect(fds == ["0", "1", "2"], "\(r.stdoutText)")
        // Leave a descriptor without O_CLOEXEC open here: the child must not get it either.
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        let r2 = try run("/bin/sh", arguments: ["-c", "ls /proc/$$/fd"])
        #expect(Set(r2.stdoutText.split(separator: "\n").map(String.init)) == ["0", "1", "2"])
    }

    @Test func noDescriptorLeaksInTheParent() throws {
        func openCount() -> Int {
            guard let d = opendir("/proc/self/fd") else { return -1 }
            defer { closedir(d) }
            var n = 0
            while readdir(d) != nil { n += 1 }
            return n
        }
        // Other tests run in parallel and open descriptors too; run this one in a loop and compare
        // a generous bound: 200 leaked pipes (6 fds each run) could not hide in it.
        let before = openCount()
        for _ in 0..<200 { _ = try run("true", stdin: [1, 2, 3]) }
        for _ in 0..<20 { _ = try? run("/nonexistent/x") }
        #expect(openCount() < before + 100)
    }

    @Test func whichSearchesInOrder() throws {
        #expect(which("sh", searchPath: "/nonexistent:/bin:/usr/bin") == "/bin/sh")
        #expect(which("sh", searchPath: "/usr/bin/:/bin") == "/usr/bin/sh")
        #expect(which("v6cni-no-such-program", searchPath: "/bin:/usr/bin") == nil)
        #expect(which("sh", searchPath: "") == nil)
        #expect(which("bin", searchPath: "/") == nil)          // a directory is not executable
        #expect(which("passwd", searchPath: "/etc") == nil)    // a regular file without x bits
        #expect(which("/bin/sh", searchPath: "") == "/bin/sh")
        #expect(which("", searchPath: "/bin") == nil)
    }
}
