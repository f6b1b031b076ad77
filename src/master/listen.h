/*
 * listen.h — the master's listening sockets.
 *
 * A TCP listener in "reuseport" mode is N sockets bound to one address with
 * SO_REUSEPORT, one per worker slot: the kernel spreads connections across
 * them, and because the master keeps every socket open, a dead worker's
 * accept queue survives and its replacement drains it.  In "handoff" mode
 * (and always for Unix sockets) there is one socket that the master accepts
 * on itself, handing each connection to a worker over the channel.
 */
#ifndef CQ_MASTER_LISTEN_H
#define CQ_MASTER_LISTEN_H

#include <sys/socket.h>
#include <sys/types.h>

#include "shm/region.h"

typedef struct cq_listen_spec {
	const char *name;
	int kind; /* protocol kind, opaque here; passed to workers */
	int unix_socket; /* address is a filesystem path */
	const char *address; /* "host:port", "[v6]:port", ":port" or a path */
	int handoff; /* master accepts and hands off */
	int pinned_slot; /* handoff to this slot only, or -1 */
	/* reuseport: slot i's socket gets SO_INCOMING_CPU slot_cpu[i]
	 * (master/affinity.h); NULL: none. */
	const int *slot_cpu;
	unsigned mode; /* file mode of a Unix socket */
	int backlog;
	/* A health check the master answers itself (health.h); handoff. */
	int health;
	const char *path; /* its HTTP path */
	unsigned header_max; /* bytes of a request head */
	unsigned timeout_ms; /* for a request */
} cq_listen_spec_t;

typedef struct cq_listener {
	cq_listen_spec_t spec;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd; /* handoff socket, or -1 */
	int slot_fds[CQ_MAX_WORKERS]; /* reuseport sockets, or -1 */
	unsigned nslots;
	struct event *ev; /* master accept event (handoff) */
} cq_listener_t;

/*
 * Resolve "host:port" / "[v6]:port" / ":port" (all interfaces) into a
 * socket address.  0, or -1 with *error_r.
 */
int cq_listen_resolve(const char *address, struct sockaddr_storage *ss_r,
	socklen_t *len_r, const char **error_r);

/*
 * Open (socket, bind, listen) what 'l->spec' asks for, for 'nslots'
 * workers.  All sockets are non-blocking and close-on-exec.  0, or -1 with
 * *error_r naming the syscall and the address; nothing is left open then.
 */
int cq_listen_open(cq_listener_t *l, unsigned nslots, const char **error_r);
void cq_listen_close(cq_listener_t *l);

/* "127.0.0.1:1883" / "[::1]:1883" / the path, for log lines. */
const char *cq_listen_addr_text(
	const struct sockaddr *sa, socklen_t len, char *buf, size_t size);

#endif /* CQ_MASTER_LISTEN_H */
