# shm — the shared-memory region: region + TOC, arena, locks, QSBR, rings,
# message store, auth cache, counters, crash points.  The tables (route
# trie, retained store, sessions) add themselves in Module-tables.mk.
LIB_SRCS += \
	shm/arena.c \
	shm/arena-check.c \
	shm/authcache.c \
	shm/counters.c \
	shm/crashpoint.c \
	shm/lock.c \
	shm/modules.c \
	shm/msg.c \
	shm/persist.c \
	shm/pevent.c \
	shm/qsbr.c \
	shm/region.c \
	shm/ring.c \
	shm/spsc.c
UNIT_TESTS += \
	t/unit/check_shm_region.c \
	t/unit/check_shm_arena.c \
	t/unit/check_shm_qsbr.c \
	t/unit/check_shm_ring.c \
	t/unit/check_shm_msg.c \
	t/unit/check_shm_authcache.c \
	t/unit/check_shm_lock.c \
	t/unit/check_shm_stress.c
