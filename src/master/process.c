/*
 * process.c — see process.h.
 */
#include "config.h"
#include "master/process.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/channel.h"
#include "core/log.h"
#include "shm/crashpoint.h"

#define MAX_PRIVATE_FDS 512
#define QUICK_DEATH_SEC 10

static cq_child_t children[CQ_MAX_CHILDREN];
static unsigned nchildren;
static int private_fds[MAX_PRIVATE_FDS];
static unsigned nprivate;

cq_child_t *
cq_process_add(cq_child_kind_t kind, unsigned slot, const char *name,
	cq_child_main_fn main, void *arg)
{
	if (nchildren >= CQ_MAX_CHILDREN)
		return NULL;
	cq_child_t *c = &children[nchildren++];
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->kind = kind;
	c->slot = slot;
	c->chan = -1;
	c->child_chan = -1;
	c->main = main;
	c->arg = arg;
	c->respawn = 1;
	return c;
}

cq_child_t *
cq_process_by_pid(pid_t pid)
{
	for (unsigned i = 0; i < nchildren; i++)
		if (children[i].pid == pid)
			return &children[i];
	return NULL;
}

cq_child_t *
cq_process_at(unsigned i)
{
	return i < nchildren ? &children[i] : NULL;
}

unsigned
cq_process_count(void)
{
	return nchildren;
}

unsigned
cq_process_running(void)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nchildren; i++)
		n += children[i].pid != 0;
	return n;
}

void
cq_process_private_fd(int fd)
{
	if (fd >= 0 && nprivate < MAX_PRIVATE_FDS)
		private_fds[nprivate++] = fd;
}

void
cq_process_private_fd_forget(int fd)
{
	for (unsigned i = 0; i < nprivate; i++) {
		if (private_fds[i] == fd) {
			private_fds[i] = private_fds[--nprivate];
			return;
		}
	}
}

unsigned
cq_process_backoff_ms(cq_child_t *child)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - child->started.tv_sec >= QUICK_DEATH_SEC) {
		child->quick_deaths = 0;
		return 0;
	}
	unsigned n = child->quick_deaths++;
	if (n == 0)
		return 0;
	unsigned ms = 100u << (n - 1 < 7 ? n - 1 : 7);
	return ms > 10000 ? 10000 : ms;
}

const char *
cq_process_status_text(int status, char *buf, size_t size)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exited with status %d",
			WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by signal %d (SIG%s)%s",
			WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) ?: "?",
			WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, size, "stopped (status 0x%x)", status);
	return buf;
}

/* In the child: forget everything the master's event loop installed. */
static void
child_reset_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sigaction(sig, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

/*
 * CQ_CRASHPOINTS (comqttd(8), a testing aid): "name[:countdown[:ppm]],..."
 * arms crash points (shm/crashpoint.h) in the first run of every worker,
 * or of worker CQ_CRASHPOINTS_SLOT only.  A respawned worker runs unarmed:
 * a test sees one death where it chose, not a crash loop.
 */
static void
arm_crashpoints(const cq_child_t *child)
{
	const char *spec = getenv("CQ_CRASHPOINTS");
	const char *slot = getenv("CQ_CRASHPOINTS_SLOT");
	if (spec == NULL || spec[0] == '\0' || child->kind != CQ_CHILD_WORKER ||
		child->spawns != 1 ||
		(slot != NULL && slot[0] != '\0' &&
			strtoul(slot, NULL, 10) != child->slot))
		return;
	if (cq_crashpoint_arm_spec(spec, (uint64_t)getpid()) < 0)
		cq_log(CQ_LOG_ERR, errno, "CQ_CRASHPOINTS=\"%s\" is not valid",
			spec);
	else
		cq_log(CQ_LOG_WARN, 0, "crash points armed (testing): %s",
			spec);
}

static _Noreturn void
child_run(cq_child_t *child, const sigset_t *oldmask)
{
	child_reset_signals();
	for (unsigned i = 0; i < nprivate; i++)
		close(private_fds[i]);
	for (unsigned i = 0; i < nchildren; i++)
		if (children[i].chan >= 0)
			close(children[i].chan);
	/* Backstop to the death pipe: if the master dies, so do we. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigprocmask(SIG_SETMASK, oldmask, NULL);
	cq_log_set_ident(child->name);
	arm_crashpoints(child);
	int rc = child->main(child, child->arg);
	_exit(rc);
}

int
cq_process_spawn(cq_child_t *child)
{
	int chan[2];
	if (cq_channel_pair(chan) < 0) {
		cq_log(CQ_LOG_ERR, errno, "socketpair() for %s failed",
			child->name);
		return -1;
	}
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	child->spawns++;
	pid_t pid = fork();
	if (pid == 0) {
		close(chan[0]);
		child->pid = getpid();
		child->chan = -1;
		child->child_chan = chan[1];
		child_run(child, &old);
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(chan[1]);
	if (pid < 0) {
		close(chan[0]);
		cq_log(CQ_LOG_ERR, err, "fork() of %s failed", child->name);
		return -1;
	}
	child->pid = pid;
	child->chan = chan[0];
	child->stopping = 0;
	clock_gettime(CLOCK_MONOTONIC, &child->started);
	return 0;
}
