# src/authc — the comqtt-authd protocol (shared by both ends) and the
# workers' client library.
LIB_SRCS += \
	src/authc/protocol.c
