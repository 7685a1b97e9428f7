import Glibc

/// The three pipes between the caller and a child. All descriptors are O_CLOEXEC and ≥ 3 (so the
/// child's dup2 onto 0/1/2 cannot clobber one of its own sources); the caller's ends are
/// non-blocking. A closed descriptor is -1, and `closeAll` may be called any number of times.
struct ChildPipes {
    var stdinRead: Int32 = -1, stdinWrite: Int32 = -1
    var stdoutRead: Int32 = -1, stdoutWrite: Int32 = -1
    var stderrRead: Int32 = -1, stderrWrite: Int32 = -1

    mutating func open(executable: String) throws {
        (stdinRead, stdinWrite) = try makePipe(executable)
        (stdoutRead, stdoutWrite) = try makePipe(executable)
        (stderrRead, stderrWrite) = try makePipe(executable)
        for fd in [stdinWrite, stdoutRead, stderrRead] {
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
                throw SpawnError.system(call: "fcntl(O_NONBLOCK)", executable: executable, errno: errno)
            }
        }
    }

    mutating func closeChildEnds() {
        Self.close(&stdinRead); Self.close(&stdoutWrite); Self.close(&stderrWrite)
    }

    mutating func closeAll() {
        closeChildEnds()
        Self.close(&stdinWrite); Self.close(&stdoutRead); Self.close(&stderrRead)
    }

    static func close(_ fd: inout Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }  // never retry close on Linux, even on EINTR
        fd = -1
    }
}

/// `pipe2(2)`. Glibc declares it only under `_GNU_SOURCE`, which Swift's Glibc module is built
/// without, and this target has no C shim; the symbol is bound directly (two scalar arguments, an
/// `int` result: the Swift and C calling conventions agree for this signature on every Linux ABI
/// Swift supports). O_CLOEXEC must be set atomically at creation: pipe() + fcntl would leave a window
/// in which a spawn on another thread inherits the descriptors.
@_silgen_name("pipe2")
private func sys_pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32

private func makePipe(_ executable: String) throws -> (Int32, Int32) {
    var p: [Int32] = [-1, -1]
    guard sys_pipe2(&p, O_CLOEXEC) == 0 else {
        throw SpawnError.system(call: "pipe2", executable: executable, errno: errno)
    }
    for i in 0..<2 where p[i] < 3 {
        let moved = fcntl(p[i], F_DUPFD_CLOEXEC, 3)
        let e = errno
        _ = close(p[i])
        if moved < 0 {
            _ = close(p[1 - i])
            throw SpawnError.system(call: "fcntl(F_DUPFD_CLOEXEC)", executable: executable, errno: e)
        }
        p[i] = moved
    }
    return (p[0], p[1])
}
