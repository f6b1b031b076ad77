/*
 * admin_child.c — see admin_child.h.
 */
#include "config.h"
#include "master/admin_child.h"

#include <unistd.h>

#include "admin/admin.h"
#include "core/log.h"
#include "core/tls.h"

static cq_listener_t sock = {.fd = -1};
static SSL_CTX *tls_ctx;
static char addr_text[CQ_ADDR_STRLEN];
static const cq_config_cmdline_t *the_cmdline;
static cq_config_t *the_cfg;
static uint64_t the_start;

int
cq_admin_child_tls(
	const cq_config_t *cfg, const char *config_file, char **error_r)
{
	char dir[4200];
	*error_r = NULL;
	if (!cfg->admin.enabled || cfg->admin.tls.cert_file[0] == '\0')
		return 0;
	SSL_CTX_free(tls_ctx);
	tls_ctx = cq_tls_server_ctx_new("admin", &cfg->admin.tls,
		cq_tls_base_dir(config_file, dir, sizeof(dir)), error_r);
	return tls_ctx != NULL ? 0 : -1;
}

int
cq_admin_child_listen(const cq_config_t *cfg)
{
	const char *error;
	char text[160];
	if (!cfg->admin.enabled)
		return 0;
	cq_addr_format(&cfg->admin.address, addr_text, sizeof(addr_text));
	sock.spec.name = "admin";
	sock.spec.address = addr_text;
	sock.spec.handoff = 1;
	sock.spec.pinned_slot = -1;
	sock.spec.backlog = 128;
	if (cq_listen_open(&sock, 1, &error) < 0) {
		cq_log(CQ_LOG_CRIT, 0, "%s", error);
		return -1;
	}
	cq_log(CQ_LOG_NOTICE, 0, "comqtt-admin on %s (%s)",
		cq_listen_addr_text((struct sockaddr *)&sock.addr, sock.addrlen,
			text, sizeof(text)),
		tls_ctx != NULL ? "HTTPS" : "HTTP");
	return 0;
}

void
cq_admin_child_prepare(
	const cq_config_cmdline_t *cmdline, cq_config_t *cfg, uint64_t started)
{
	the_cmdline = cmdline;
	the_cfg = cfg;
	the_start = started;
}

/* In the freshly forked child. */
static int
admin_main(cq_child_t *child, void *arg)
{
	cq_master_t *m = arg;
	cq_admin_args_t a = {
		.chan = child->child_chan,
		.death_fd = m->death_pipe[0],
		.listen_fd = sock.fd,
		.tls_ctx = tls_ctx,
		.nworkers = m->workers,
		.cmdline = the_cmdline,
		.config = the_cfg,
		.shm = &m->shm,
		.start_time = the_start,
		.master_pid = getppid(),
	};
	/* The workers' listening sockets are not the admin's business. */
	for (unsigned i = 0; i < m->nlisteners; i++)
		for (unsigned s = 0; s < m->listeners[i].nslots; s++)
			close(m->listeners[i].slot_fds[s]);
	return cq_admin_main(&a);
}

int
cq_admin_child_add(cq_master_t *m)
{
	if (sock.fd < 0)
		return 0;
	if (cq_process_add(CQ_CHILD_ADMIN, 0, "admin", admin_main, m) == NULL) {
		cq_log(CQ_LOG_CRIT, 0,
			"no room for comqtt-admin in the process table");
		return -1;
	}
	return 0;
}

void
cq_admin_child_release(void)
{
	if (sock.fd >= 0)
		close(sock.fd);
	sock.fd = -1;
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
}
