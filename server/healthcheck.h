/* healthcheck.h: --healthcheck, the probe for slim container images that
 * have no curl: GET /healthz on 127.0.0.1:port over a plain socket. */
#ifndef SRV_HEALTHCHECK_H
#define SRV_HEALTHCHECK_H

/* Returns 0 when the server answers 200 within timeout_ms, else 1 (and
 * says why on stderr). */
int healthcheck_run(int port, int timeout_ms);

#endif
