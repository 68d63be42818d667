/*
 * Runs clickhouse-local from npm's @chdb/lib-linux-x64-gnu as a process of its own:
 *   chdb-launcher <libchdb.so> [clickhouse-local arguments...]
 * It is the server: its pid is the one the cluster records and signals, and its command
 * line carries --config-file=<config.xml>, by which the cluster recognises it.
 * Built by scripts/cluster/modern.mjs with `cc -O2 -o chdb-launcher chdb-launcher.c -ldl`.
 */
#include <dlfcn.h>
#include <stdio.h>

typedef void *(*cmdline_fn)(int argc, char **argv);
typedef const char *(*error_fn)(void *result);

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <libchdb.so> [clickhouse-local arguments...]\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    fprintf(stderr, "chdb-launcher: dlopen %s: %s\n", argv[1], dlerror());
    return 3;
  }
  cmdline_fn run = (cmdline_fn)dlsym(lib, "chdb_query_cmdline");
  if (!run) {
    fprintf(stderr, "chdb-launcher: dlsym chdb_query_cmdline: %s\n", dlerror());
    return 4;
  }
  /* clickhouse-local reads its own argv[0] as the program name. */
  argv[1] = "clickhouse";
  void *result = run(argc - 1, argv + 1);
  error_fn error = (error_fn)dlsym(lib, "chdb_result_error");
  const char *message = result && error ? error(result) : NULL;
  if (!result || (message && *message)) {
    fprintf(stderr, "chdb-launcher: the engine failed: %s\n", message ? message : "(no result)");
    return 1;
  }
  fprintf(stderr, "chdb-launcher: released, the engine returned\n");
  return 0;
}
