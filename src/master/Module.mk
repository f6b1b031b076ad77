# src/master — comqttd: listeners, accept, spawn, channel, signals, supervision.
PROGRAMS += comqttd
comqttd_SRCS = src/master/main.c
comqttd_LIBS = $(AUTHD_LIBS) $(STORAGE_LIBS) $(JEMALLOC_LIBS)
LIB_SRCS += \
	src/master/admin_child.c \
	src/master/affinity.c \
	src/master/daemon.c \
	src/master/listen.c \
	src/master/master.c \
	src/master/process.c
