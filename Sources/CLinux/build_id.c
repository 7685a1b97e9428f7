#include "CLinux.h"
#include <elf.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Marker, then 20 bytes that stay zero as compiled. hack/build.sh finds the marker in the linked
 * bridge6 and ptp6 and writes host-local6's build-id after it. */
#define V6_COMPANION_MARKER "v6cni:host-local6-build-id:"
#define V6_COMPANION_AT 28 /* the marker and its NUL, a multiple of 4 */
const volatile unsigned char v6cni_companion_ipam[V6_COMPANION_AT + 20] = V6_COMPANION_MARKER;

int v6cni_companion_ipam_id(unsigned char out[20]) {
    unsigned char any = 0;
    for (int i = 0; i < 20; i++) {
        out[i] = v6cni_companion_ipam[V6_COMPANION_AT + i];
        any |= out[i];
    }
    return any ? 20 : 0;
}

static int read_at(int fd, void *buf, size_t len, off_t at) {
    return pread(fd, buf, len, at) == (ssize_t)len ? 0 : -1;
}

/* Only the program headers and PT_NOTE segments are read (at most 4 kB each): a few preads. */
int v6cni_elf_build_id(const char *path, unsigned char *out, int cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return -1;
    int found = -1;
    Elf64_Ehdr eh;
    Elf64_Phdr ph[64];
    if (read_at(fd, &eh, sizeof eh, 0) != 0 || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0
        || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)
        || eh.e_phnum == 0 || eh.e_phnum > 64
        || read_at(fd, ph, eh.e_phnum * sizeof(Elf64_Phdr), (off_t)eh.e_phoff) != 0) {
        close(fd);
        return -1;
    }
    unsigned char notes[4096];
    for (int i = 0; i < eh.e_phnum && found < 0; i++) {
        if (ph[i].p_type != PT_NOTE || ph[i].p_filesz > sizeof notes) continue;
        size_t size = (size_t)ph[i].p_filesz;
        if (read_at(fd, notes, size, (off_t)ph[i].p_offset) != 0) continue;
        size_t at = 0;
        while (at + sizeof(Elf64_Nhdr) <= size) {
            Elf64_Nhdr nh;
            memcpy(&nh, notes + at, sizeof nh);
            size_t name = at + sizeof nh;
            size_t desc = name + ((nh.n_namesz + 3u) & ~3u);
            size_t next = desc + ((nh.n_descsz + 3u) & ~3u);
            if (desc > size || next > size || nh.n_descsz > size) break;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(notes + name, "GNU", 4) == 0) {
                if ((int)nh.n_descsz <= cap) {
                    memcpy(out, notes + desc, nh.n_descsz);
                    found = (int)nh.n_descsz;
                }
                break;
            }
            at = next;
        }
    }
    close(fd);
    return found;
}
