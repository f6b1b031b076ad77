/*
 * process.h — the master's table of children (nginx's ngx_processes).
 *
 * Every child — worker slots, and later comqtt-authd, comqtt-admin and
 * comqtt-storage — has a fixed entry: its kind, its slot, its pid while it
 * runs, its end of the channel and its respawn bookkeeping.  The table is
 * static and lives only in the master.
 *
 * Forking: signals are blocked around fork(); the child resets every signal
 * disposition the master installed (libevent's handlers would otherwise
 * write into the master's signal pipe), closes every descriptor registered
 * as master-private (pidfile, handoff listeners, other children's channels,
 * the write end of the death pipe) and runs the entry's main function,
 * whose return value becomes its exit status.
 */
#ifndef CQ_MASTER_PROCESS_H
#define CQ_MASTER_PROCESS_H

#include <sys/types.h>
#include <time.h>

#define CQ_MAX_CHILDREN 80

typedef enum cq_child_kind {
	CQ_CHILD_WORKER = 0,
	CQ_CHILD_AUTHD,
	CQ_CHILD_ADMIN,
	CQ_CHILD_STORAGE,
} cq_child_kind_t;

struct cq_child;
/* A child's main(): runs after fork in the child; returns the exit status. */
typedef int (*cq_child_main_fn)(struct cq_child *child, void *arg);

typedef struct cq_child {
	char name[32]; /* "worker 0", "authd" */
	cq_child_kind_t kind;
	unsigned slot;
	pid_t pid; /* 0 when not running */
	int chan; /* master's end of the channel, -1 when not running */
	int child_chan; /* the child's end (valid in the child only) */
	cq_child_main_fn main;
	void *arg;
	int respawn; /* respawn when it dies */
	int stopping; /* we asked it to stop */
	int ready; /* said it serves (CQ_CHAN_READY) since it started */
	struct timespec started;
	unsigned quick_deaths; /* consecutive deaths soon after start */
	unsigned spawns; /* forks so far (1 in the first run) */
	struct event *chan_ev;
	struct event *respawn_ev;
} cq_child_t;

/* Add an entry (not started).  NULL when the table is full. */
cq_child_t *cq_process_add(cq_child_kind_t kind, unsigned slot,
	const char *name, cq_child_main_fn main, void *arg);
cq_child_t *cq_process_by_pid(pid_t pid);
cq_child_t *cq_process_at(unsigned i); /* NULL past the end */
unsigned cq_process_count(void);
/* Children still running. */
unsigned cq_process_running(void);

/*
 * Fork 'child'.  In the parent: 0 (child->pid and child->chan set) or -1.
 * In the child this never returns: it runs child->main and _exit()s.
 */
int cq_process_spawn(cq_child_t *child);

/* Descriptors the children must not keep (closed in every child). */
void cq_process_private_fd(int fd);
void cq_process_private_fd_forget(int fd);

/* Respawn delay after a death: 0 the first time, then doubling from
 * 100 ms to 10 s while the child keeps dying within 10 s of its start. */
unsigned cq_process_backoff_ms(cq_child_t *child);

/* "exited with status 3" / "killed by signal 9 (SIGKILL), core dumped" */
const char *cq_process_status_text(int status, char *buf, size_t size);

#endif /* CQ_MASTER_PROCESS_H */
