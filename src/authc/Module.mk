# src/authc — the comqtt-authd protocol (shared by both ends) and the
# workers' client library.
LIB_SRCS += \
	src/authc/check.c \
	src/authc/client.c \
	src/authc/protocol.c
UNIT_TESTS += t/unit/check_auth_protocol.c
UNIT_TESTS += t/unit/check_auth_client.c
