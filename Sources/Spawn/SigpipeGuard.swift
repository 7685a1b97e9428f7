import Glibc

/// Blocks SIGPIPE on the calling thread (a write to a pipe whose reader is gone then fails with
/// EPIPE instead of killing the process) and, on `restore`, discards a SIGPIPE that became pending
/// meanwhile and restores the thread's mask. Thread-local: other threads are not affected.
struct SigpipeGuard {
    private var old = sigset_t()
    private let wasPending: Bool
    private let wasBlocked: Bool

    init() {
        var pending = sigset_t()
        sigpending(&pending)
        wasPending = sigismember(&pending, SIGPIPE) == 1
        var block = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &block, &old)
        wasBlocked = sigismember(&old, SIGPIPE) == 1
    }

    func restore() {
        if !wasPending {
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGPIPE) == 1 {
                var only = sigset_t()
                sigemptyset(&only)
                sigaddset(&only, SIGPIPE)
                var zero = timespec(tv_sec: 0, tv_nsec: 0)
                _ = sigtimedwait(&only, nil, &zero)
            }
        }
        if !wasBlocked {
            var old = self.old
            pthread_sigmask(SIG_SETMASK, &old, nil)
        }
    }
}
