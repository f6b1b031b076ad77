/*
 * signals.h — the signals a broker child handles, as a descriptor.
 *
 * Workers, comqtt-authd and comqtt-storage handle SIGTERM, SIGINT, SIGHUP
 * and SIGUSR1 in their loops rather than in handlers: the signals are
 * blocked and read from a signalfd, so a handler never runs in the middle
 * of a loop iteration.
 */
#ifndef CQ_CORE_SIGNALS_H
#define CQ_CORE_SIGNALS_H

/* Block SIGTERM, SIGINT, SIGHUP and SIGUSR1 and return a non-blocking,
 * close-on-exec signalfd that reads them; -1 with errno on failure. */
int cq_signals_fd(void);

#endif /* CQ_CORE_SIGNALS_H */
