// nsrun — runs one command inside a network namespace and times it, for hack/bench.sh.
//
//   nsrun [-n NETNS] [-i IN] [-o OUT] [-e ERR] [-p PODNS -g GATEWAY] -- CMD ARGS...
//
// Enters NETNS (setns, no mount namespace: the plugins use netlink and /proc/sys only, which follow
// the caller's network namespace), then measures CMD's wall time from just before posix_spawn to
// just after wait4, with stdin/stdout/stderr from/to the files given (default /dev/null). With
// -p/-g, as soon as CMD exits 0 it runs `ping -6 -n -c1 -W1 GATEWAY` inside PODNS: is the pod's
// address usable the moment ADD returns? `-g @` takes the first "gateway" of the result CMD wrote
// to OUT (a link-local one gets the scope %eth0).
// Prints one line: <wall µs> <exit status> <peak RSS kB of CMD and its children> <ping: 1|0|->
//                  <CPU µs (user + system) of CMD and its children>
//
//   nsrun [-n NETNS] -b LIST -- CMD ARGS...
//
// Batch mode, for throughput: one process runs CMD once per line of LIST ("CONTAINERID NETNS IN
// OUT"), one after another, with CNI_CONTAINERID and CNI_NETNS set from the line, as a runtime's
// long-lived process would; no shell or runner start per call. One output line per call, as above
// (ping "-"). Per-call rusage is not separable here, so RSS and CPU print as 0.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what, const char *arg) {
    fprintf(stderr, "nsrun: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    exit(125);
}

static void enter(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open", path);
    if (setns(fd, CLONE_NEWNET) != 0) die("setns", path);
    close(fd);
}

static int openfile(const char *path, int flags) {
    int fd = open(path ? path : "/dev/null", flags | O_CLOEXEC, 0644);
    if (fd < 0) die("open", path);
    return fd;
}

static pid_t spawn(char **argv, int in, int out, int err) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) { errno = rc; die("spawn", argv[0]); }
    return pid;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int batch(const char *netns, const char *list, char **cmd) {
    FILE *f = fopen(list, "r");
    if (!f) die("open", list);
    if (netns) enter(netns);
    char cid[256], ns[1024], in[1024], out[1024];
    while (fscanf(f, "%255s %1023s %1023s %1023s", cid, ns, in, out) == 4) {
        setenv("CNI_CONTAINERID", cid, 1);
        setenv("CNI_NETNS", ns, 1);
        int fin = openfile(in, O_RDONLY), fout = openfile(out, O_WRONLY | O_CREAT | O_TRUNC);
        int ferr = openfile(NULL, O_WRONLY);
        double t0 = now_us();
        pid_t pid = spawn(cmd, fin, fout, ferr);
        int status;
        while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) die("waitpid", NULL);
        double t1 = now_us();
        close(fin); close(fout); close(ferr);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        printf("%.0f %d 0 - 0\n", t1 - t0, code);
    }
    fclose(f);
    return 0;
}

int main(int argc, char **argv) {
    const char *netns = NULL, *in = NULL, *out = NULL, *err = NULL, *podns = NULL, *gw = NULL, *list = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "+n:i:o:e:p:g:b:")) != -1) {
        switch (opt) {
        case 'n': netns = optarg; break;
        case 'i': in = optarg; break;
        case 'o': out = optarg; break;
        case 'e': err = optarg; break;
        case 'p': podns = optarg; break;
        case 'g': gw = optarg; break;
        case 'b': list = optarg; break;
        default: return 125;
        }
    }
    if (optind >= argc) { fprintf(stderr, "usage: nsrun [-n NETNS] [-i IN] [-o OUT] [-e ERR] [-p PODNS -g GW] -- CMD...\n"); return 125; }
    if (list) return batch(netns, list, argv + optind);
    int podfd = -1;
    if (podns) { podfd = open(podns, O_RDONLY | O_CLOEXEC); if (podfd < 0) die("open", podns); }
    if (netns) enter(netns);
    int fin = openfile(in, O_RDONLY);
    int fout = openfile(out, O_WRONLY | O_CREAT | O_TRUNC);
    int ferr = err ? openfile(err, O_WRONLY | O_CREAT | O_TRUNC) : openfile(NULL, O_WRONLY);

    double t0 = now_us();
    pid_t pid = spawn(argv + optind, fin, fout, ferr);
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) if (errno != EINTR) die("wait4", NULL);
    double t1 = now_us();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    const char *ping = "-";
    char gwbuf[128];
    if (podfd >= 0 && gw && code == 0 && strcmp(gw, "@") == 0) {
        gw = NULL;
        FILE *f = out ? fopen(out, "r") : NULL;
        static char text[65536];
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f) fclose(f);
        text[n] = 0;
        char *k = strstr(text, "\"gateway\"");
        if (k) {
            k += 9;
            while (*k == ' ' || *k == ':' || *k == '\n' || *k == '\t') k++;
            if (*k == '"') {
                k++;
                size_t i = 0;
                while (k[i] && k[i] != '"' && i < 100) { gwbuf[i] = k[i]; i++; }
                gwbuf[i] = 0;
                if (strncasecmp(gwbuf, "fe80:", 5) == 0) strcat(gwbuf, "%eth0");
                gw = gwbuf;
            }
        }
        if (!gw) ping = "0";
    }
    if (podfd >= 0 && gw && code == 0) {
        if (setns(podfd, CLONE_NEWNET) != 0) die("setns", podns);
        char *pargv[] = {"ping", "-6", "-n", "-q", "-c1", "-W1", (char *)gw, NULL};
        int devnull = openfile(NULL, O_WRONLY);
        pid_t p = spawn(pargv, fin, devnull, devnull);
        int ps;
        while (waitpid(p, &ps, 0) < 0) if (errno != EINTR) die("waitpid", NULL);
        ping = (WIFEXITED(ps) && WEXITSTATUS(ps) == 0) ? "1" : "0";
    }
    long cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    printf("%.0f %d %ld %s %ld\n", t1 - t0, code, ru.ru_maxrss, ping, cpu);
    return 0;
}
