/* rate_limit.c: token buckets in a fixed hash table (rate_limit.h). */
#include "rate_limit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096 /* clients tracked at once; 4096 x 80 bytes */

typedef struct {
    char client[64]; /* "" for a free slot */
    double tokens, at;
} bucket;

struct rate_limit {
    pthread_mutex_t mu;
    double rate, burst;
    bucket slot[SLOTS];
};

rate_limit *rate_limit_create(double per_second, double burst)
{
    rate_limit *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    pthread_mutex_init(&r->mu, NULL);
    r->rate = per_second;
    r->burst = burst < 1 ? 1 : burst;
    return r;
}

void rate_limit_free(rate_limit *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* FNV-1a */
static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int rate_limit_take(rate_limit *r, const char *client, double now)
{
    bucket *b = &r->slot[hash(client) % SLOTS];
    int wait = 0;
    pthread_mutex_lock(&r->mu);
    if (strncmp(b->client, client, sizeof b->client) != 0) {
        snprintf(b->client, sizeof b->client, "%s", client);
        b->tokens = r->burst;
        b->at = now;
    }
    b->tokens = fmin(r->burst, b->tokens + (now - b->at) * r->rate);
    b->at = now;
    if (b->tokens >= 1)
        b->tokens -= 1;
    else
        wait = (int)ceil((1 - b->tokens) / r->rate);
    pthread_mutex_unlock(&r->mu);
    return wait;
}
