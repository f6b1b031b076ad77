# src/core — what the listeners' edges share between the master and the
# workers: listener keys (conf_listener.c), networks (netmask.c), the HTTP
# request parser (http.c) and TLS contexts (tls.c).
LIB_SRCS += \
	src/core/conf_listener.c \
	src/core/http.c \
	src/core/netmask.c \
	src/core/tls.c
UNIT_TESTS += t/unit/check_edges.c
