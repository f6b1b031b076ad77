/*
 * cb_setup.h — lay out one run: streams, connections and their roles,
 * trackers, threads; resolve the broker's address; raise RLIMIT_NOFILE.
 *
 * Placement on threads keeps a closed loop local where it can: a pair's
 * publisher and subscriber share a thread, a stresser client is one
 * connection, a fan-in's subscriber and a fan-out's publisher sit on
 * thread 0 with the other side spread round-robin.
 */
#ifndef CB_SETUP_H
#define CB_SETUP_H

#include <stddef.h>

#include "bench/cb_types.h"

/* 0, or -1 with a message in err (the run is torn down again). */
int cb_setup(cb_run_t *run, const cb_opts_t *o, char *err, size_t errlen);

/* Free everything cb_setup() made (threads must have been joined). */
void cb_teardown(cb_run_t *run);

/* Subscribers per stream, connections that publish, that subscribe. */
uint32_t cb_setup_nsubs(const cb_run_t *run);
uint32_t cb_setup_npubs(const cb_run_t *run);

#endif /* CB_SETUP_H */
