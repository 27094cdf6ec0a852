/* spawn.h: the C tests' process helpers, for the tests that drive our
 * binaries (test_train, test_crash_safety). */
#ifndef MNIST_TESTS_SPAWN_H
#define MNIST_TESTS_SPAWN_H

#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Starts prog with args (args[0] included, NULL-terminated), its stdout
 * and stderr into the file log (appended to when append, else replaced);
 * returns its pid. */
static inline pid_t spawn_logged(const char *prog, char *const *args, const char *log, int append)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(prog, args);
        _exit(127);
    }
    return pid;
}

/* Waits for pid: its exit status, or 128 + the signal that ended it. */
static inline int wait_exit(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

#endif
