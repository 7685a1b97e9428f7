import CLinux
import Foundation
import Testing
@testable import IPAM

/// The build-id reader that decides whether CNI_PATH's IPAM plugin is the host-local6 built with
/// bridge6 and ptp6, on small ELF files made here.
@Suite("companion IPAM: ELF build-id")
struct CompanionIPAMTests {
    /// A 64-bit ELF header with one PT_NOTE program header over `notes`.
    static func elf(notes: [UInt8], phnum: UInt16 = 1) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        let phoff = 64, noteOffset = 64 + 56
        var e: [UInt8] = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0] + [UInt8](repeating: 0, count: 8)
        e += le(UInt16(2)) + le(UInt16(62)) + le(UInt32(1)) + le(UInt64(0)) + le(UInt64(phoff)) + le(UInt64(0))
        e += le(UInt32(0)) + le(UInt16(64)) + le(UInt16(56)) + le(phnum) + le(UInt16(0)) + le(UInt16(0)) + le(UInt16(0))
        e += le(UInt32(4)) + le(UInt32(4)) + le(UInt64(noteOffset)) + le(UInt64(0)) + le(UInt64(0))
        e += le(UInt64(notes.count)) + le(UInt64(notes.count)) + le(UInt64(4))
        return e + notes
    }

    static func note(name: String, type: UInt32, desc: [UInt8]) -> [UInt8] {
        func le(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }
        var n = Array(name.utf8) + [0]
        let namesz = UInt32(n.count)
        while n.count % 4 != 0 { n.append(0) }
        var d = desc
        while d.count % 4 != 0 { d.append(0) }
        return le(namesz) + le(UInt32(desc.count)) + le(type) + n + d
    }

    static let id: [UInt8] = (1...20).map { UInt8($0 * 7) }

    static func buildID(of bytes: [UInt8]) -> [UInt8]? {
        let dir = ScratchDirectory("buildid")
        let path = "\(dir.path)/file"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        var out = [UInt8](repeating: 0, count: 64)
        let n = v6cni_elf_build_id(path, &out, Int32(out.count))
        return n < 0 ? nil : Array(out.prefix(Int(n)))
    }

    @Test("the GNU build-id note is found after other notes")
    func found() {
        let notes = Self.note(name: "v6cni", type: 1, desc: [9, 9, 9]) + Self.note(name: "GNU", type: 3, desc: Self.id)
        #expect(Self.buildID(of: Self.elf(notes: notes)) == Self.id)
        #expect(Self.buildID(of: Self.elf(notes: Self.note(name: "GNU", type: 3, desc: Array(Self.id.prefix(8))))) == Array(Self.id.prefix(8)))
    }

    @Test("no build-id: another note, a script, a cut file, no file")
    func notFound() {
        #expect(Self.buildID(of: Self.elf(notes: Self.note(name: "GNU", type: 1, desc: Self.id))) == nil)
        #expect(Self.buildID(of: Self.elf(notes: Self.note(name: "GNX", type: 3, desc: Self.id))) == nil)
        #expect(Self.buildID(of: Array("#!/bin/sh\nexec /opt/cni/bin/host-local6\n".utf8)) == nil)
        let whole = Self.elf(notes: Self.note(name: "GNU", type: 3, desc: Self.id))
        #expect(Self.buildID(of: Array(whole.prefix(whole.count - 4))) == nil)  // the note runs past the end
        #expect(Self.buildID(of: Self.elf(notes: Self.note(name: "GNU", type: 3, desc: Self.id), phnum: 2)) == nil)  // a header past the end
        var out = [UInt8](repeating: 0, count: 20)
        #expect(v6cni_elf_build_id("/nonexistent/host-local6", &out, 20) == -1)
    }

    @Test("a build-id longer than the caller's buffer is not copied")
    func tooLong() {
        let dir = ScratchDirectory("buildid")
        let path = "\(dir.path)/file"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.elf(notes: Self.note(name: "GNU", type: 3, desc: Self.id)))))
        var out = [UInt8](repeating: 0, count: 8)
        #expect(v6cni_elf_build_id(path, &out, 8) == -1)
        #expect(out == [UInt8](repeating: 0, count: 8))
    }

    @Test("an executable whose build did not write host-local6's id runs every IPAM plugin as a child")
    func unstampedNeverMatches() {
        var expected = [UInt8](repeating: 1, count: 20)
        #expect(v6cni_companion_ipam_id(&expected) == 0)
        let dir = ScratchDirectory("buildid")
        let path = "\(dir.path)/host-local6"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.elf(notes: Self.note(name: "GNU", type: 3, desc: [UInt8](repeating: 0, count: 20))))))
        #expect(!CompanionIPAM.isCompanion(path))
    }
}
