/*
 * cb_loop.h — one comqtt-bench thread: an edge-triggered epoll loop over
 * its own connections, driven through the run's phases by the controller.
 *
 * One pass of the loop: wait for events (or a timer); read every readable
 * connection once and handle its packets; expire handshakes and send
 * keep-alives (every 100 ms); act on the phase (start connections, let
 * publishers write); flush every connection with output once; publish the
 * thread's counters.  Nothing in a pass blocks.
 */
#ifndef CB_LOOP_H
#define CB_LOOP_H

#include "bench/cb_types.h"

/* Epoll set, eventfd, scratch buffers, histograms.  0, or -1 with errno. */
int cb_loop_init(cb_thread_t *th, cb_run_t *run, int index);
void cb_loop_free(cb_thread_t *th);

/* pthread entry point; returns when the run reaches CB_PH_STOP. */
void *cb_loop_main(void *arg);

/* Wake th from epoll_wait (phase change, or a window opened). */
void cb_loop_wake(cb_thread_t *th);

#endif /* CB_LOOP_H */
