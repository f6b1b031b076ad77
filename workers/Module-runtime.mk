# workers — the worker process: loop, connections, sessions, delivery.
# This fragment: the runtime (the private trie is in Module.mk).
LIB_SRCS += \
	workers/conn.c \
	workers/deliver.c \
	workers/handle_ack.c \
	workers/handle_connect.c \
	workers/handle_disconnect.c \
	workers/handle_ping.c \
	workers/handle_publish.c \
	workers/handle_subscribe.c \
	workers/authwait.c \
	workers/hook_authd.c \
	workers/hook_loopback.c \
	workers/hooks.c \
	workers/layout.c \
	workers/lsess.c \
	workers/lsess_sweep.c \
	workers/pack.c \
	workers/publish.c \
	workers/rebalance.c \
	workers/rsend.c \
	workers/sys.c \
	workers/takeover.c \
	workers/transport_tcp.c \
	workers/worker.c
UNIT_TESTS += t/unit/check_workers.c
