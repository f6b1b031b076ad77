# shm tables — the route trie, the retained store and the session table
# (the region, arena, locks, QSBR, rings and messages are in Module.mk).
LIB_SRCS += \
	shm/trie.c \
	shm/route.c \
	shm/route-check.c \
	shm/trie-check.c
UNIT_TESTS += \
	t/unit/check_route.c
