import CNI

/// What an ADD has made so far, to be taken apart in reverse order if a later step fails — so a
/// failed ADD leaves no interface, address, rule or lease behind.
public final class Undo {
    private var steps: [(what: String, action: () throws -> Void)] = []

    public init() {}

    public func push(_ what: String, _ action: @escaping () throws -> Void) {
        steps.append((what, action))
    }

    /// Runs every step, newest first; returns what could not be undone (for a log line).
    @discardableResult
    public func run() -> [String] {
        var failures: [String] = []
        while let step = steps.popLast() {
            do { try step.action() } catch { failures.append("\(step.what): \(error)") }
        }
        return failures
    }

    /// ADD failed: takes everything apart and logs what could not be undone.
    public func abandon(plugin: String) {
        let leftovers = run()
        if !leftovers.isEmpty { logWarning("\(plugin): cleanup after a failed ADD left: \(leftovers.joined(separator: "; "))") }
    }

    /// ADD succeeded: keep everything.
    public func commit() { steps.removeAll() }
}
