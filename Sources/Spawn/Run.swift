import Glibc

/// Runs `executable` with `arguments`, feeds it `stdin`, collects its stdout and stderr, and waits
/// for it to exit. Synchronous: no threads, no Dispatch; the pipes are multiplexed with `poll`, so
/// neither a large stdin nor a large output can deadlock.
///
/// - `executable`: a path (contains `/`) or a name looked up in this process's `PATH`.
/// - `environment`: the child's whole environment; `nil` inherits this process's.
/// - `timeout`: when given, the child is killed with SIGKILL once it has run that long, and
///   `SpawnError.timedOut` is thrown. The timeout covers the whole run (I/O and exit).
///
/// Every descriptor this function makes is `O_CLOEXEC`, so a concurrent spawn on another thread
/// cannot inherit it; the child gets exactly fds 0, 1, 2 (everything from 3 up is closed in it,
/// inherited descriptors without O_CLOEXEC included). The child starts with an empty signal mask
/// and default signal dispositions. SIGPIPE is blocked on the calling thread while it writes stdin,
/// so a child that exits without reading its input does not kill the caller.
public func run(
    _ executable: String,
    arguments: [String] = [],
    environment: [String: String]? = nil,
    stdin: [UInt8] = [],
    timeout: Duration? = nil
) throws -> SpawnResult {
    try start(executable, arguments: arguments, environment: environment, stdin: stdin, timeout: timeout).wait()
}

/// `run` in two halves: starts the child and hands it as much of `stdin` as the pipe takes
/// without blocking (all of a CNI configuration), then returns at once, so the caller can do
/// other work — netlink requests, another child — while it runs. `wait()` does the rest of `run`
/// (the remaining input, the output, the exit status, the timeout, which counts from `start`).
/// A child that is never waited for is killed and reaped when the handle goes away.
public func start(
    _ executable: String,
    arguments: [String] = [],
    environment: [String: String]? = nil,
    stdin: [UInt8] = [],
    timeout: Duration? = nil
) throws -> RunningChild {
    let path: String
    if executable.contains("/") {
        path = executable
    } else {
        let searchPath = currentSearchPath()
        guard let found = which(executable, searchPath: searchPath) else {
            throw SpawnError.notFound(name: executable, searchPath: searchPath)
        }
        path = found
    }
    let deadline = timeout.map { Deadline(after: $0) }

    var fds = ChildPipes()
    do {
        try fds.open(executable: path)
        let pid = try spawnChild(path: path, arguments: [executable] + arguments,
                                 environment: environment, fds: fds)
        fds.closeChildEnds()
        var io = PipeIO(input: stdin)
        let sigpipe = SigpipeGuard()
        defer { sigpipe.restore() }
        do {
            try io.feed(&fds, executable: path)
        } catch {
            kill(pid, SIGKILL)
            _ = reap(pid, deadline: nil)
            throw error
        }
        return RunningChild(path: path, pid: pid, fds: fds, io: io, deadline: deadline, timeout: timeout)
    } catch {
        fds.closeAll()
        throw error
    }
}

/// A child started by `start`; `wait()` once to collect it.
public final class RunningChild {
    let path: String
    let pid: pid_t
    var fds: ChildPipes
    var io: PipeIO
    let deadline: Deadline?
    let timeout: Duration?
    private var reaped = false

    init(path: String, pid: pid_t, fds: ChildPipes, io: PipeIO, deadline: Deadline?, timeout: Duration?) {
        self.path = path; self.pid = pid; self.fds = fds; self.io = io; self.deadline = deadline; self.timeout = timeout
    }

    deinit {
        if !reaped {
            kill(pid, SIGKILL)
            _ = reap(pid, deadline: nil)
        }
        fds.closeAll()
    }

    /// Feeds the rest of the input, collects stdout and stderr, waits for the exit.
    public func wait() throws -> SpawnResult {
        precondition(!reaped, "RunningChild.wait() called twice")
        defer { fds.closeAll() }
        let sigpipe = SigpipeGuard()
        defer { sigpipe.restore() }
        do {
            try io.pump(&fds, deadline: deadline, executable: path)
        } catch let e as SpawnError {
            kill(pid, SIGKILL)
            _ = reap(pid, deadline: nil)
            reaped = true
            if case .timedOut = e {
                throw SpawnError.timedOut(executable: path, timeout: timeout!, stdout: io.stdout, stderr: io.stderr)
            }
            throw e
        }
        fds.closeAll()

        guard let status = reap(pid, deadline: deadline) else {
            kill(pid, SIGKILL)
            _ = reap(pid, deadline: nil)
            reaped = true
            throw SpawnError.timedOut(executable: path, timeout: timeout!, stdout: io.stdout, stderr: io.stderr)
        }
        reaped = true
        return SpawnResult(status: status, stdout: io.stdout, stderr: io.stderr)
    }
}

/// posix_spawn with fds 0/1/2 wired to the pipes, a clean signal mask and default dispositions.
private func spawnChild(path: String, arguments: [String], environment: [String: String]?,
                        fds: ChildPipes) throws -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, fds.stdinRead, 0)
    posix_spawn_file_actions_adddup2(&actions, fds.stdoutWrite, 1)
    posix_spawn_file_actions_adddup2(&actions, fds.stderrWrite, 2)
    // Descriptors someone else opened without O_CLOEXEC (a CNI runtime's, a test harness's)
    // must not reach the child either: it gets exactly 0, 1, 2, as with Go's os/exec.
    posix_spawn_file_actions_addclosefrom(&actions, 3)

    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attr, &empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigdefault(&attr, &all)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    let argv = CStringArray(arguments)
    defer { argv.free() }
    let envp = environment.map { env in CStringArray(env.map { "\($0.key)=\($0.value)" }) }
    defer { envp?.free() }

    var pid: pid_t = 0
    let rc: Int32
    if let envp {
        rc = posix_spawn(&pid, path, &actions, &attr, argv.pointers, envp.pointers)
    } else {
        rc = posix_spawn(&pid, path, &actions, &attr, argv.pointers, inheritedEnvironment())
    }
    guard rc == 0 else { throw SpawnError.system(call: "posix_spawn", executable: path, errno: rc) }
    return pid
}

/// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34), declared only under `_GNU_SOURCE`,
/// which Swift's Glibc module lacks; bound directly (pointer + int → int: the Swift and C
/// conventions agree).
@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func posix_spawn_file_actions_addclosefrom(
    _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

private func inheritedEnvironment() -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    environ
}

/// Waits for `pid`; returns the shell-style status, or nil when `deadline` passed first.
private func reap(_ pid: pid_t, deadline: Deadline?) -> Int32? {
    var raw: Int32 = 0
    var pause: Int = 100_000  // ns; only with a deadline (WNOHANG polling)
    while true {
        let r = waitpid(pid, &raw, deadline == nil ? 0 : WNOHANG)
        if r == pid { break }
        if r < 0 {
            if errno == EINTR { continue }
            return -1  // ECHILD: someone else reaped it (SIGCHLD ignored); nothing to report
        }
        // r == 0: still running, only with WNOHANG.
        if let d = deadline, d.remainingMilliseconds() == 0 { return nil }
        var ts = timespec(tv_sec: 0, tv_nsec: pause)
        nanosleep(&ts, nil)
        pause = min(pause * 2, 10_000_000)
    }
    let sig = raw & 0x7f
    if sig == 0 { return (raw >> 8) & 0xff }     // WIFEXITED → WEXITSTATUS
    if sig != 0x7f { return 128 + sig }           // WIFSIGNALED → 128 + WTERMSIG
    return raw
}

/// NUL-terminated argv/envp built with strdup; `free()` releases it.
private struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    let count: Int

    init(_ strings: [String]) {
        count = strings.count
        pointers = .allocate(capacity: count + 1)
        for (i, s) in strings.enumerated() { pointers[i] = strdup(s) }
        pointers[count] = nil
    }

    func free() {
        for i in 0..<count { Glibc.free(pointers[i]) }
        pointers.deallocate()
    }
}
