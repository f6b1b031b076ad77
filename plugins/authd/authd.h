/*
 * authd.h — comqtt-authd, the authentication and ACL process (DESIGN.md
 * section 4; protocol in comqtt-authd(8) and src/authc/auth-protocol.h).
 *
 * Two ways to run it, one code path:
 *  - the master forks it: cq_process_add(CQ_CHILD_AUTHD, 0, "authd",
 *    cq_authd_child_main, &args) with args.config_path the master's -c
 *    file (NULL for the embedded defaults) and args.death_fd the read end
 *    of the death pipe; the master respawns it when it dies and forwards
 *    SIGHUP (reload), SIGUSR1 (reopen logs) and SIGTERM (stop) to it;
 *  - alone, for debugging or another supervisor: comqtt-authd -c FILE.
 *
 * Either way it reads the file itself (so a reload rereads it), creates
 * the Unix socket auth.socket with mode auth.socket_mode (owned by the
 * broker's user), drops to that user when started as root, and serves
 * until SIGTERM/SIGINT or EOF on death_fd.
 */
#ifndef CQ_AUTHD_AUTHD_H
#define CQ_AUTHD_AUTHD_H

#include <stdbool.h>
#include <stddef.h>

struct cq_child;

typedef struct cq_authd_args {
	const char *config_path; /* NULL: the embedded defaults */
	int death_fd; /* EOF here stops authd; -1: none */
	/* Open log.file of the configuration (standalone); a forked authd
	 * keeps the master's log descriptor. */
	bool open_log;
} cq_authd_args_t;

/* Run authd; returns the process exit status (0 after a clean stop, 1
 * when it cannot start).  Errors are logged. */
int cq_authd_run(const cq_authd_args_t *args);

/* The master's child entry point (master/process.h's cq_child_main_fn):
 * 'arg' is a cq_authd_args_t. */
int cq_authd_child_main(struct cq_child *child, void *arg);

/* Check the configuration and build (without serving) the backend chain,
 * so that rules files and backend settings are checked too.  0, or -1
 * with *error_r (malloc'd). */
int cq_authd_check(const char *config_path, char **error_r);

#endif /* CQ_AUTHD_AUTHD_H */
