/* What the Swift runtime's start-up costs a static plugin process and cannot use (each plugin
 * runs for a few milliseconds, and every ADD or DEL starts two of them):
 *
 * - Finding argv: the runtime's own CommandLine.cpp scans /proc/self/maps for the stack to walk
 *   back from `environ` (≈ 50 µs here, every process). glibc hands ELF constructors argc and argv,
 *   so we keep them and define the two entry points that object file defines; the linker then
 *   never pulls it out of libswiftCore.a (were it pulled in anyway, the link would fail on the
 *   duplicates, not silently).
 * - Looking for `swift-backtrace` next to the runtime (a readlink of /proc/self/exe and eight
 *   stats) to enable crash backtraces: a node has no swift-backtrace beside our static binaries,
 *   so the search never finds one. hack/build.sh links with --wrap on it; SWIFT_BACKTRACE with an
 *   explicit swift-backtrace= path still works, as that path skips the search. */
#include <stddef.h>

static char **saved_argv;
static int saved_argc;

__attribute__((constructor)) static void v6cni_keep_argv(int argc, char **argv, char **envp) {
    (void)envp;
    saved_argc = argc;
    saved_argv = argv;
}

__attribute__((swiftcall)) char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    *outArgLen = saved_argc;
    return saved_argv;
}

__attribute__((swiftcall)) void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    saved_argv = argv;
    saved_argc = argc;
}

char *__wrap_swift_copyAuxiliaryExecutablePath(const char *name) {
    (void)name;
    return NULL;
}
