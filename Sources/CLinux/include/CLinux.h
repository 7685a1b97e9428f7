#ifndef V6CNI_CLINUX_H
#define V6CNI_CLINUX_H
/* Declarations hidden behind _GNU_SOURCE in the Swift Glibc module. */
#include <netinet/in.h>
#include <linux/sched.h>
#include <sys/types.h>
#include <sys/file.h>
#include <sys/statfs.h>   /* fstatfs: check that a path is a namespace file */

extern int setns(int fd, int nstype);
extern int unshare(int flags);
extern pid_t gettid(void);
#endif
