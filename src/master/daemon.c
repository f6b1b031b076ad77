/*
 * daemon.c — see daemon.h.
 */
#include "config.h"
#include "master/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/dirs.h"
#include "core/log.h"

static int ready_fd = -1;
static char daemon_error[512];

int
cq_daemonize(void)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		/* The original process: wait for "ready" or for the daemon's
		 * intermediate parent to report failure. */
		close(p[1]);
		char c;
		ssize_t n;
		do {
			n = read(p[0], &c, 1);
		} while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == 'R' ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		return -1;
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	ready_fd = p[1];
	return 0;
}

void
cq_daemon_ready(void)
{
	if (ready_fd < 0)
		return;
	ssize_t w = write(ready_fd, "R", 1);
	(void)w;
	close(ready_fd);
	ready_fd = -1;
}

int
cq_pidfile_create(const char *path, const char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(daemon_error, sizeof(daemon_error),
			"open() of pid file \"%s\" failed: %s", path,
			strerror(errno));
		*error_r = daemon_error;
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(daemon_error, sizeof(daemon_error),
			"comqttd is already running (pid %s, pid file \"%s\")",
			buf[0] ? buf : "?", path);
		*error_r = daemon_error;
		close(fd);
		return -1;
	}
	if (cq_pidfile_write(fd) < 0) {
		snprintf(daemon_error, sizeof(daemon_error),
			"write() of pid file \"%s\" failed: %s", path,
			strerror(errno));
		*error_r = daemon_error;
		close(fd);
		return -1;
	}
	return fd;
}

int
cq_pidfile_write(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

void
cq_pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	unlink(path);
	close(fd);
}

int
cq_data_dir_prepare(const char *dir, const char *user, const char **error_r)
{
	char failed[256];
	int made = cq_mkdir_p(dir, 0750, failed, sizeof(failed));
	if (made < 0) {
		snprintf(daemon_error, sizeof(daemon_error),
			"data_dir %s: cannot make %s: %s", dir, failed,
			strerror(errno));
		*error_r = daemon_error;
		return -1;
	}
	if (made == 0)
		return 0;
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL || chown(dir, pw->pw_uid, pw->pw_gid) < 0) {
		snprintf(daemon_error, sizeof(daemon_error),
			"data_dir %s: cannot give it to user \"%s\": %s", dir,
			user, pw == NULL ? "no such user" : strerror(errno));
		*error_r = daemon_error;
		return -1;
	}
	return 0;
}

int
cq_drop_privileges(const char *user, const char **error_r)
{
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(daemon_error, sizeof(daemon_error),
			"user \"%s\" does not exist", user);
		*error_r = daemon_error;
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		setuid(pw->pw_uid) < 0) {
		snprintf(daemon_error, sizeof(daemon_error),
			"dropping privileges to \"%s\" failed: %s", user,
			strerror(errno));
		*error_r = daemon_error;
		return -1;
	}
	if (setuid(0) == 0) {
		snprintf(daemon_error, sizeof(daemon_error),
			"dropping privileges to \"%s\" did not stick", user);
		*error_r = daemon_error;
		return -1;
	}
	return 0;
}
