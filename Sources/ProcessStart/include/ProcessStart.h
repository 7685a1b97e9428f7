/* Linked into the plugin executables only; nothing to call: see startup.c. */
