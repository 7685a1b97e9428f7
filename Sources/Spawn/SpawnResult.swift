/// What a finished child process left behind.
public struct SpawnResult: Sendable, Equatable {
    /// The exit code, or 128 + the signal number when a signal ended the child (as a shell reports it).
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]

    public init(status: Int32, stdout: [UInt8], stderr: [UInt8]) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    public var succeeded: Bool { status == 0 }
    /// stdout decoded as UTF-8 (invalid bytes repaired).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// stderr decoded as UTF-8 (invalid bytes repaired).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}
