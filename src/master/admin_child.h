/*
 * admin_child.h — comqtt-admin as one of the master's children.
 *
 * The master builds the TLS context of admin.tls with the listeners'
 * (a bad certificate stops comqttd, and comqttd -t says why), binds
 * admin.address itself (before dropping privileges, and so that a
 * respawned admin finds its socket and queued connections where the dead
 * one left them) and adds an entry "admin" to the process table; the
 * child's main turns the master's state into cq_admin_args_t.  Workers
 * release the admin's socket and context right after they are forked.
 */
#ifndef CQ_MASTER_ADMIN_CHILD_H
#define CQ_MASTER_ADMIN_CHILD_H

#include <stdint.h>

#include "core/conf.h"
#include "master/master.h"

/* The context of admin.tls when admin.enabled and it names a
 * certificate; relative file names start at the directory of
 * 'config_file'.  0, or -1 with *error_r (malloc'd; NULL: out of
 * memory). */
int cq_admin_child_tls(
	const cq_config_t *cfg, const char *config_file, char **error_r);
/* Bind admin.address when admin.enabled.  0, or -1 (logged). */
int cq_admin_child_listen(const cq_config_t *cfg);
/* What the child is given: the command line (for reloads), the
 * configuration the master runs with, the broker's start time. */
void cq_admin_child_prepare(
	const cq_config_cmdline_t *cmdline, cq_config_t *cfg, uint64_t started);
/* The admin's table entry (if it listens), for cq_master_t.add_children:
 * 0, or -1 (the table is full; logged). */
int cq_admin_child_add(cq_master_t *m);
/* Close the socket, free the context (workers after fork; the master at
 * exit). */
void cq_admin_child_release(void);

#endif /* CQ_MASTER_ADMIN_CHILD_H */
