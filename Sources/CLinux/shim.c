#include "CLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fsopen/fsconfig/fsmount (Linux 5.2) through syscall(2): glibc's wrappers and <linux/mount.h>
 * clash in some header versions, and the constants below are fixed ABI. */
#define V6_FSOPEN_CLOEXEC 0x1
#define V6_FSCONFIG_CMD_CREATE 6
#define V6_FSMOUNT_CLOEXEC 0x1
#define V6_MOUNT_ATTR_NOSUID 0x2
#define V6_MOUNT_ATTR_NODEV 0x4
#define V6_MOUNT_ATTR_NOEXEC 0x8

int v6cni_private_proc(void) {
#if defined(SYS_fsopen) && defined(SYS_fsconfig) && defined(SYS_fsmount)
    int fs = (int)syscall(SYS_fsopen, "proc", V6_FSOPEN_CLOEXEC);
    if (fs < 0) return -1;
    if (syscall(SYS_fsconfig, fs, V6_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        int e = errno; close(fs); errno = e; return -1;
    }
    int mnt = (int)syscall(SYS_fsmount, fs, V6_FSMOUNT_CLOEXEC,
                           V6_MOUNT_ATTR_NOSUID | V6_MOUNT_ATTR_NODEV | V6_MOUNT_ATTR_NOEXEC);
    int e = errno;
    close(fs);
    errno = e;
    return mnt;
#else
    errno = ENOSYS;
    return -1;
#endif
}

int v6cni_rename_noreplace(const char *from, const char *to) {
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1 /* RENAME_NOREPLACE */);
}
