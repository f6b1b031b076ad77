# workers — the worker process: loop, connections, sessions, delivery.
# This fragment: the private subscription trie.
LIB_SRCS += workers/subtrie.c workers/subtrie-index.c workers/subtrie-match.c
UNIT_TESTS += t/unit/check_subtrie.c
