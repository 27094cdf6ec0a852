/* serve_compare_fixed.c: the ceiling of the serving comparison: a
 * libmicrohttpd server in the same mode as mnist-server (epoll, a pool of
 * one thread per core) that reads each POST body and answers one fixed
 * JSON prediction without any work. Our server's requests/s are reported
 * as a fraction of this one's on the same machine in the same run.
 *
 * usage: serve_compare_fixed [THREADS [POOL_KIB]]
 * POOL_KIB sets libmicrohttpd's per-connection memory pool (default 32,
 * libmicrohttpd's own default). mnist-server needs 128 KiB to read a
 * 100 KB header and answer it with a JSON 431, and libmicrohttpd clears
 * the whole pool before every request, so the comparison also runs this
 * server with mnist-server's pool to show what that costs a server doing
 * no work.
 * Listens on 127.0.0.1, a free port, printed as "port N" on stdout; runs
 * until SIGTERM or SIGINT.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char BODY[] =
    "{\"prediction\":7,\"confidence\":0.9987,\"probabilities\":[0.0001,0.0,0.0003,0.0,0.0,"
    "0.0,0.0,0.9987,0.0,0.0009],\"model\":{\"name\":\"mnist-cnn\",\"version\":\"00000000\"},"
    "\"elapsed_ms\":0.0}";

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* Consumes the body, then queues the shared fixed response. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls)
{
    (void)url, (void)method, (void)version, (void)data;
    static int first_call_marker;
    if (*con_cls == NULL) {
        *con_cls = &first_call_marker;
        return MHD_YES;
    }
    if (*data_size) {
        *data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, (struct MHD_Response *)cls);
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1 || threads > 64)
        threads = 1;
    size_t pool_kib = argc > 2 ? (size_t)atoi(argv[2]) : 32;
    if (pool_kib < 4 || pool_kib > (1u << 20))
        pool_kib = 32;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
    if (!resp || MHD_add_response_header(resp, "Content-Type", "application/json") != MHD_YES) {
        fprintf(stderr, "serve_compare_fixed: cannot build the response\n");
        return 1;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, resp,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, 4096u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool_kib << 10, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "serve_compare_fixed: cannot start the daemon\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port %u\n", info ? (unsigned)info->port : 0u);
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* Signals blocked between the check and the wait, so none is lost. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &old);
    while (!stop)
        sigsuspend(&old);
    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    return 0;
}
