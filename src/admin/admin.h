/*
 * admin.h — comqtt-admin: the HTTP(S) process of the broker.
 *
 * A child of the master, forked and supervised like the workers (respawned
 * with back-off when it dies).  It serves the REST API under /api/v1/
 * (the paths and field names of Go comqtt's mqtt/rest package, and more),
 * Prometheus metrics at /metrics and the dashboard at /, on the socket the
 * master bound for it (admin.address).  It reads sessions, counters,
 * retained messages and routes straight from shared memory, lock-free, as
 * a QSBR reader; what it changes goes to the workers over the control
 * rings (shm/ctl.h) or into the blacklist (shm/blacklist.h).  Being its
 * own process, a slow or hostile HTTP client can cost it memory and time
 * but never stalls a worker or the master.
 *
 * It reads signals through a signalfd (TERM/INT stop, HUP reload, USR1
 * reopen logs; the master forwards its own to its non-worker children
 * that way), and exits when the master's death pipe or channel closes.
 */
#ifndef CQ_ADMIN_ADMIN_H
#define CQ_ADMIN_ADMIN_H

#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "core/conf.h"
#include "shm/region.h"

typedef struct cq_admin_args {
	int chan; /* channel to the master */
	int death_fd; /* read end of the master's death pipe */
	int listen_fd; /* bound, listening socket (admin.address) */
	SSL_CTX *tls_ctx; /* admin.tls built by the master; NULL: HTTP */
	unsigned nworkers;
	const cq_config_cmdline_t *cmdline; /* to re-read on reload */
	cq_config_t *config; /* inherited from the master */
	const cq_shm_t *shm;
	uint64_t start_time; /* the broker's start, Unix seconds */
	pid_t master_pid;
} cq_admin_args_t;

/* Run comqtt-admin until stopped; returns the exit status. */
int cq_admin_main(const cq_admin_args_t *args);

#endif /* CQ_ADMIN_ADMIN_H */
