/* rate_limit.h: a token bucket per client address, for POST /v1/feedback:
 * a client posting faster than the rate, beyond a burst, is told to wait
 * (429 rate_limited with Retry-After) instead of filling the store. The
 * buckets sit in a fixed table, no allocation per client: two addresses
 * hashing to one slot take it over from each other, which can only let a
 * client through sooner, never refuse one that is within the rate.
 * Thread-safe. */
#ifndef SRV_RATE_LIMIT_H
#define SRV_RATE_LIMIT_H

typedef struct rate_limit rate_limit;

/* per_second tokens a second, at most burst saved up (burst >= 1).
 * NULL when out of memory. */
rate_limit *rate_limit_create(double per_second, double burst);
void rate_limit_free(rate_limit *r);

/* Takes a token of client's bucket at time now (monotonic seconds).
 * Returns 0 when the request may go on, else the whole seconds (>= 1)
 * until a token is there: the Retry-After. */
int rate_limit_take(rate_limit *r, const char *client, double now);

#endif
