#pragma once

// A test step run in a child process (fork), for what must not touch the test runner itself: a
// lock another process holds, a resource limit. The step returns an exit code (0: every check in
// it held; another number says which did not). The child leaves with _exit, skipping Catch2.

#include <sys/wait.h>
#include <unistd.h>

namespace streamgate::test {

// The child's exit code; 99 when the step threw, -1 when there was no child or it did not exit.
template <class Step>
int exit_code_in_child(Step&& step) {
  const pid_t child = ::fork();
  if (child < 0) return -1;
  if (child == 0) {
    int code = 99;
    try {
      code = step();
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  if (::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace streamgate::test
