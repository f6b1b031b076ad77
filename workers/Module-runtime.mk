# workers — the worker process: event loop, connections, sessions, delivery.
LIB_SRCS += \
	workers/worker.c
