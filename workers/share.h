/*
 * share.h — shared subscriptions: a message one member of a group could
 * not take goes to another member (MQTT 5 §4.8.2).
 *
 * A session that loses its connection with QoS 1/2 messages of a shared
 * subscription unacknowledged (in its inflight window, PUBLISH sent and
 * no PUBACK or PUBREC yet) or waiting in its queue gives them up: each
 * goes to one other member of its group, on this worker (an online member
 * first) or on another worker that has members (a group-only ring record,
 * records.h CQ_REC_F_GROUPS).  A message the session also gets through a
 * plain subscription of its own stays with it, and so does one whose
 * group has no other member, or whose way to the other members is full
 * (a ring): the member gets it when it comes back.  A QoS 2 message whose
 * PUBREC came is the member's: it is never given away.
 */
#ifndef CQ_WORKERS_SHARE_H
#define CQ_WORKERS_SHARE_H

#include "workers/worker-t.h"

/*
 * ls's connection ended (not taken over): give what it held for its
 * shared subscriptions to other members.  Owner only; may find the
 * session stale (then nothing more happens).
 */
void cq_share_give_up(cq_worker_t *w, cq_lsess_t *ls);

#endif /* CQ_WORKERS_SHARE_H */
