# workers — the worker process.  This fragment: the worker's end of the
# admin's control path (commands, blacklist, loop lag).
LIB_SRCS += workers/control.c
