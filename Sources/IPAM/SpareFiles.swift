#if canImport(Glibc)
import Glibc
#endif
import CLinux

/// Lease files that DEL frees, kept under `.v6cni/.spare-<n>` (a few at most) for the next ADD to
/// rewrite instead of creating a file. Creating an inode on ext4 walks past every inode of its
/// group freed in the last 30 s (`recently_deleted`), so on a node where pods come and go an ADD's
/// one creation was a tenth of host-local6's CPU; recycling the inode DEL would have freed skips
/// both the free and the walk.
///
/// A spare holds only spaces, and is reused only while it is its inode's one name: one still linked
/// from an index entry (a process killed mid-DEL) is dropped, never rewritten under that entry.
struct SpareFiles {
    let directory: String
    static let slots = 4

    func path(_ slot: Int) -> String { "\(directory)/.spare-\(slot)" }

    /// Moves the file at `path` into a free slot and blanks it (nothing keeps naming the departed
    /// owner). False when every slot is taken, the file is gone, or the file system cannot rename
    /// without replacing: then the caller removes it.
    func keep(_ path: String) -> Bool {
        for slot in 0..<Self.slots {
            let spare = self.path(slot)
            if v6cni_rename_noreplace(path, spare) == 0 {
                if !blank(spare) { unlink(spare) }
                return true
            }
            if errno != EEXIST { return false }
        }
        return false
    }

    /// A spare rewritten to hold exactly `bytes` and `attribute` (so `attributeSet` is true). Like a
    /// temporary, the caller links it into place and removes the slot's name. nil when there is
    /// none to take (then the caller creates a file).
    func take(_ bytes: [UInt8], attribute: (name: String, value: [UInt8])) -> (path: String, attributeSet: Bool)? {
        for slot in 0..<Self.slots {
            let spare = path(slot)
            let fd = open(spare, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 { continue }
            let rewritten = rewrite(fd, bytes, attribute)
            close(fd)
            if rewritten { return (spare, true) }
            // Shared with another name, not one of our private files, or the rewrite failed (a
            // file system without user attributes fails every time): not a spare.
            unlink(spare)
            return nil
        }
        return nil
    }

    /// Overwrites the content with spaces, keeping its length. Not a truncation to zero: ext4 then
    /// flushes the next content written at close (`auto_da_alloc`), and the following DEL's
    /// truncation waited for that write to reach the disk (0.45 ms per DEL, measured).
    private func blank(_ path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size <= 4096 else { return false }
        let spaces = [UInt8](repeating: UInt8(ascii: " "), count: Int(st.st_size))
        return spaces.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } == spaces.count
    }

    private func rewrite(_ fd: Int32, _ bytes: [UInt8], _ attribute: (name: String, value: [UInt8])) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o7777 == 0o600,
              st.st_nlink == 1, st.st_uid == geteuid() else { return false }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { return false }
        if st.st_size > bytes.count, ftruncate(fd, off_t(bytes.count)) != 0 { return false }
        // Without the attribute the spare would carry its last owner's listing: use a new file.
        return attribute.value.withUnsafeBytes { fsetxattr(fd, attribute.name, $0.baseAddress, $0.count, 0) } == 0
    }
}
