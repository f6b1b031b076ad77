/*
 * daemon.h — detaching, the pidfile, and dropping privileges.
 */
#ifndef CQ_MASTER_DAEMON_H
#define CQ_MASTER_DAEMON_H

/*
 * Detach: fork, setsid, fork again, chdir("/"), stdin/stdout/stderr to
 * /dev/null.  The original process waits until the daemon calls
 * cq_daemon_ready() (exit 0) or exits (its status), so "comqttd -d" fails
 * visibly when start-up fails.  Returns 0 in the daemon, -1 on error.
 */
int cq_daemonize(void);
/* Start-up is complete: release the waiting parent (no-op if not -d). */
void cq_daemon_ready(void);

/*
 * Create 'path', lock it (flock, so a second master fails while the first
 * runs) and write our pid.  Returns the descriptor to keep open, or -1 with
 * *error_r (e.g. "comqttd is already running (pid 123)").
 */
int cq_pidfile_create(const char *path, const char **error_r);
/* Rewrite the pid (after daemonising the pid changed). */
int cq_pidfile_write(int fd);
void cq_pidfile_remove(const char *path, int fd);

/*
 * Before dropping privileges to 'user': a data_dir that does not exist yet
 * is made (mkdir -p) and given to the user, so that comqtt-storage can
 * write it; an existing one is left as it is (its owner is the operator's
 * choice).  0 or -1 with *error_r.
 */
int cq_data_dir_prepare(
	const char *dir, const char *user, const char **error_r);

/* setgid/initgroups/setuid to 'user'.  0 or -1 with *error_r. */
int cq_drop_privileges(const char *user, const char **error_r);

#endif /* CQ_MASTER_DAEMON_H */
