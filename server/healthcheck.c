/* healthcheck.c: a minimal blocking HTTP/1.0 client for one request to
 * /healthz on the loopback address, bounded in time. It is the probe mode
 * of the binary, not a general client. */
#include "healthcheck.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for events until the deadline; 1 if ready. */
static int wait_fd(int fd, short events, long long deadline)
{
    long long left = deadline - now_ms();
    if (left <= 0)
        return 0;
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, (int)left) == 1;
}

int healthcheck_run(int port, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "healthcheck: socket: %s\n", strerror(errno));
        return 1;
    }
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    if (rc != 0 && errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
        rc = e ? -1 : 0;
        errno = e;
    }
    if (rc != 0) {
        fprintf(stderr, "healthcheck: cannot connect to 127.0.0.1:%d: %s\n", port,
                errno ? strerror(errno) : "timed out");
        close(fd);
        return 1;
    }
    static const char req[] = "GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1)) {
        fprintf(stderr, "healthcheck: send failed: %s\n", strerror(errno));
        close(fd);
        return 1;
    }
    char buf[64];
    size_t got = 0;
    while (got < 12 && wait_fd(fd, POLLIN, deadline)) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    if (got >= 12 && !strncmp(buf, "HTTP/1.", 7) && !strncmp(buf + 9, "200", 3))
        return 0;
    if (got == 0)
        fprintf(stderr, "healthcheck: no answer from 127.0.0.1:%d within %d ms\n", port, timeout_ms);
    else
        fprintf(stderr, "healthcheck: 127.0.0.1:%d answered: %.*s\n", port,
                (int)strcspn(buf, "\r\n"), buf);
    return 1;
}
