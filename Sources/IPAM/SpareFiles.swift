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
/// A spare is reused only while it is its inode's one name: one left still linked from an index
/// entry (a process killed mid-DEL) is dropped, never rewritten under that entry. Its old content
/// names a departed owner and sits outside the lease directory, so nothing reads it as a lease
/// (the reference plugin's walk ignores names that are not addresses).
struct SpareFiles {
    let directory: String
    static let slots = 4

    func path(_ slot: Int) -> String { "\(directory)/.spare-\(slot)" }

    /// Moves the file at `path` into a free slot. False when every slot is taken, the file is gone,
    /// or the file system cannot rename without replacing: then the caller removes it.
    func keep(_ path: String) -> Bool {
        for slot in 0..<Self.slots {
            if v6cni_rename_noreplace(path, self.path(slot)) == 0 { return true }
            if errno != EEXIST { return false }
        }
        return false
    }

    /// A spare rewritten to hold exactly `bytes` and, where the file system keeps user attributes,
    /// `attribute` (`attributeSet`). Like a temporary, the caller links it into place and removes
    /// the slot's name. nil when there is none to take (then the caller creates a file).
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

    private func rewrite(_ fd: Int32, _ bytes: [UInt8], _ attribute: (name: String, value: [UInt8])) -> Bool {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_mode & 0o7777 == 0o600,
              st.st_nlink == 1, st.st_uid == geteuid() else { return false }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count, ftruncate(fd, off_t(bytes.count)) == 0 else { return false }
        // Without the attribute the spare would carry its last owner's listing: use a new file.
        return attribute.value.withUnsafeBytes { fsetxattr(fd, attribute.name, $0.baseAddress, $0.count, 0) } == 0
    }
}
