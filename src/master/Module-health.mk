# src/master — the health check the master answers itself (health.c).
LIB_SRCS += src/master/health.c
