# plugins/storage — comqtt-storage: the process that keeps the durable copy
# of sessions and retained messages, its LMDB and Redis backends.  The code
# is in libcomqtt.a: the master forks it in-process
# (cq_storage_child_main()); whatever links it adds $(STORAGE_LIBS).
STORAGE_LIBS = $(LMDB_LIBS) $(HIREDIS_LIBS)

LIB_SRCS += \
	plugins/storage/apply.c \
	plugins/storage/backend_lmdb.c \
	plugins/storage/backend_redis.c \
	plugins/storage/codec.c \
	plugins/storage/index.c \
	plugins/storage/load.c \
	plugins/storage/storage.c

UNIT_EXTRA_LIBS += $(STORAGE_LIBS)
UNIT_TESTS += t/unit/check_storage.c
