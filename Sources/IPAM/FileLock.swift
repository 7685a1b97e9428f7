#if canImport(Glibc)
import Glibc
#endif
import CNI
import Spawn

/// An exclusive `flock` on `<dir>/lock` — the same lock the reference host-local takes, so both
/// plugins can share a data directory. Waiting is bounded: past the timeout the caller gets
/// code 11 ("try again later") instead of a hang.
struct FileLock: ~Copyable {
    private let fd: Int32

    init(path: String, timeout: Double) throws(CNIError) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0 {
            throw CNIError(.ioFailure, "opening lock \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = Deadline(after: .microseconds(Int64(max(timeout, 0) * 1_000_000)))
        // Polls (a blocking flock cannot time out): from 50 µs, doubling up to 1 ms. A lock is held
        // for about a millisecond, so a longer sleep only leaves the store idle: with 20 ms, 8
        // concurrent ADDs went through at half the reference's rate, which blocks in flock.
        var delay: Int64 = 50_000  // ns
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let e = errno
            guard e == EWOULDBLOCK || e == EINTR else {
                close(fd)
                throw CNIError(.ioFailure, "locking \(path): \(String(cString: strerror(e)))")
            }
            if deadline.remainingMilliseconds() == 0 {
                close(fd)
                throw CNIError(.tryAgainLater, "the lease store \(path) is locked by another process: gave up after \(timeout) s")
            }
            var ts = timespec(tv_sec: 0, tv_nsec: Int(delay))
            nanosleep(&ts, nil)
            delay = min(delay * 2, 1_000_000)
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
