import Glibc

/// Moves bytes between the caller and the child's pipes with `poll` until both outputs reach EOF.
struct PipeIO {
    let input: [UInt8]
    var written = 0
    var stdout: [UInt8] = []
    var stderr: [UInt8] = []

    init(input: [UInt8]) { self.input = input }

    /// Writes what the stdin pipe takes without blocking (closing it when all is written), so
    /// the child can start on its input before anyone pumps.
    mutating func feed(_ fds: inout ChildPipes, executable: String) throws {
        if input.isEmpty { ChildPipes.close(&fds.stdinWrite); return }
        while fds.stdinWrite >= 0 {
            let before = written
            try writeSome(&fds, executable: executable)
            if written == before { return }  // the pipe is full (EAGAIN): pump goes on later
        }
    }

    mutating func pump(_ fds: inout ChildPipes, deadline: Deadline?, executable: String) throws {
        if input.isEmpty || written == input.count { ChildPipes.close(&fds.stdinWrite) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds.stdoutRead >= 0 || fds.stderrRead >= 0 {
            var polled: [pollfd] = []
            if fds.stdinWrite >= 0 { polled.append(pollfd(fd: fds.stdinWrite, events: Int16(POLLOUT), revents: 0)) }
            if fds.stdoutRead >= 0 { polled.append(pollfd(fd: fds.stdoutRead, events: Int16(POLLIN), revents: 0)) }
            if fds.stderrRead >= 0 { polled.append(pollfd(fd: fds.stderrRead, events: Int16(POLLIN), revents: 0)) }
            let wait = deadline.map { Int32(clamping: $0.remainingMilliseconds()) } ?? -1
            if wait == 0 { throw SpawnError.timedOut(executable: executable, timeout: .zero, stdout: [], stderr: []) }
            let n = poll(&polled, nfds_t(polled.count), wait)
            if n < 0 {
                if errno == EINTR { continue }
                throw SpawnError.system(call: "poll", executable: executable, errno: errno)
            }
            if n == 0 { continue }  // the deadline is checked at the top
            for p in polled where p.revents != 0 {
                if p.fd == fds.stdinWrite {
                    try writeSome(&fds, executable: executable)
                } else if p.fd == fds.stdoutRead {
                    try readSome(&fds.stdoutRead, into: &stdout, buffer: &buffer, executable: executable)
                } else if p.fd == fds.stderrRead {
                    try readSome(&fds.stderrRead, into: &stderr, buffer: &buffer, executable: executable)
                }
            }
        }
        // The child closed both outputs but may still want input it will never read: stop feeding.
        ChildPipes.close(&fds.stdinWrite)
    }

    private mutating func writeSome(_ fds: inout ChildPipes, executable: String) throws {
        let n = input.withUnsafeBytes { raw in
            write(fds.stdinWrite, raw.baseAddress! + written, min(raw.count - written, 65536))
        }
        if n < 0 {
            switch errno {
            case EINTR, EAGAIN: return
            case EPIPE: ChildPipes.close(&fds.stdinWrite); return  // the child stopped reading
            default: throw SpawnError.system(call: "write(stdin)", executable: executable, errno: errno)
            }
        }
        written += n
        if written == input.count { ChildPipes.close(&fds.stdinWrite) }
    }

    private func readSome(_ fd: inout Int32, into out: inout [UInt8], buffer: inout [UInt8],
                          executable: String) throws {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n > 0 { out.append(contentsOf: buffer[0..<n]); return }
        if n == 0 { ChildPipes.close(&fd); return }
        switch errno {
        case EINTR, EAGAIN: return
        default: throw SpawnError.system(call: "read", executable: executable, errno: errno)
        }
    }
}

/// A point on CLOCK_MONOTONIC (read directly: the stdlib's ContinuousClock would link Swift
/// Concurrency into every plugin).
public struct Deadline {
    let nanoseconds: Int128

    public init(after d: Duration) {
        let (s, atto) = d.components
        nanoseconds = Deadline.now() + Int128(s) * 1_000_000_000 + Int128(atto / 1_000_000_000)
    }

    static func now() -> Int128 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int128(ts.tv_sec) * 1_000_000_000 + Int128(ts.tv_nsec)
    }

    /// Milliseconds left, rounded up, never negative.
    public func remainingMilliseconds() -> Int {
        let left = nanoseconds - Deadline.now()
        if left <= 0 { return 0 }
        return Int((left + 999_999) / 1_000_000)
    }
}
