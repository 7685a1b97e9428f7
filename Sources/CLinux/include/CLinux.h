#ifndef V6CNI_CLINUX_H
#define V6CNI_CLINUX_H
/* Declarations hidden behind _GNU_SOURCE in the Swift Glibc module. */
#include <netinet/in.h>
#include <linux/sched.h>
#include <sys/types.h>
#include <sys/file.h>
#include <sys/statfs.h>   /* fstatfs: check that a path is a namespace file */
#include <sys/xattr.h>    /* the lease store's index attribute */

extern int setns(int fd, int nstype);
extern int unshare(int flags);
extern pid_t gettid(void);

/* A new procfs instance, mounted detached (in no mount namespace): its mount fd, or -1 with errno
 * (ENOSYS before Linux 5.2, EPERM without CAP_SYS_ADMIN, EACCES under an LSM that refuses it).
 * It lives while any fd into it is open. */
int v6cni_private_proc(void);

/* rename(2) that fails with EEXIST instead of replacing `to` (renameat2 RENAME_NOREPLACE); EINVAL
 * where the file system cannot do that. */
int v6cni_rename_noreplace(const char *from, const char *to);

/* The GNU build-id of the host-local6 built with this executable (hack/build.sh writes it into
 * bridge6 and ptp6 after linking): 20, or 0 where none was written. */
int v6cni_companion_ipam_id(unsigned char out[20]);

/* The GNU build-id (NT_GNU_BUILD_ID note) of the 64-bit ELF file at `path`: its length, copied to
 * `out` when it fits in `cap`; -1 for a file without one (a script, another format) or on error. */
int v6cni_elf_build_id(const char *path, unsigned char *out, int cap);
#endif
