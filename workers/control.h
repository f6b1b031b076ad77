/*
 * control.h — the worker's end of the admin's control path (shm/ctl.h).
 *
 * One hook (hooks.h), added at worker start, does all of it without
 * touching the rest of the runtime:
 *
 *   on_started     watches this slot's control eventfd and starts the
 *                  loop-lag timer;
 *   the eventfd    drains the command ring: KICK (close a client's
 *                  connection with DISCONNECT 0x98 Administrative action),
 *                  DESCRIBE (what only the connection's worker knows:
 *                  address, listener, keep alive, username, will, connect
 *                  time), PUBLISH (a message the admin made in the store,
 *                  published as the inline client), RETAINED_DELETE,
 *                  UNSUBSCRIBE; each gets one reply on the reply ring;
 *   on_connect     refuses blacklisted client ids (CONNACK 0x8A Banned,
 *                  or 5 on MQTT 3; shm/blacklist.h) and notes the
 *                  CONNECT's username, clean flag and will for DESCRIBE;
 *   on_session_established / on_disconnect   keep those notes current;
 *   the lag timer  sets CQ_CTR_LOOP_LAG_US: how late a 250 ms timer
 *                  fires, i.e. how long an event waits for the loop.
 *
 * Commands are handled on the worker's loop like any other event and never
 * block: a reply or a publish that meets a full ring stays in the command
 * ring and is retried a millisecond later.
 */
#ifndef CQ_WORKERS_CONTROL_H
#define CQ_WORKERS_CONTROL_H

#include "workers/hooks.h"

extern const cq_hook_t cq_hook_control;

#endif /* CQ_WORKERS_CONTROL_H */
