# shm tables — the route trie, the retained store and the session table
# (the region, arena, locks, QSBR, rings and messages are in Module.mk).
LIB_SRCS += \
	shm/trie.c \
	shm/trie-check.c \
	shm/route.c \
	shm/route-check.c \
	shm/route-index.c \
	shm/route-purge.c \
	shm/retained.c \
	shm/retained-walk.c \
	shm/retained-check.c \
	shm/session.c \
	shm/session-data.c \
	shm/session-persist.c \
	shm/session-check.c
UNIT_TESTS += \
	t/unit/check_route.c \
	t/unit/check_retained.c \
	t/unit/check_session.c \
	t/unit/check_shm_tables_stress.c
