import Glibc

/// The first regular, executable file called `name` in the `:`-separated `searchPath`
/// (an empty entry means the current directory, as in a shell). A `name` containing `/`
/// is returned as it is when it is an executable file.
public func which(_ name: String, searchPath: String) -> String? {
    guard !name.isEmpty else { return nil }
    if name.contains("/") { return isExecutableFile(name) ? name : nil }
    for dir in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
        let candidate = dir.isEmpty ? name : (dir.hasSuffix("/") ? "\(dir)\(name)" : "\(dir)/\(name)")
        if isExecutableFile(candidate) { return candidate }
    }
    return nil
}

/// The PATH of this process, or a conventional default when it has none.
public func currentSearchPath() -> String {
    if let p = getenv("PATH") { return String(cString: p) }
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

func isExecutableFile(_ path: String) -> Bool {
    var st = stat()
    guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return false }
    return access(path, X_OK) == 0
}
