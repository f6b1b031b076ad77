# workers — the listeners' edges: transports (TLS, WebSocket), the
# pre-MQTT phase (PROXY header, rate limit, handshakes).  The plain TCP
# transport is in Module-runtime.mk with the rest of the runtime.
LIB_SRCS += \
	workers/handshake.c \
	workers/proxy_proto.c \
	workers/ratelimit.c \
	workers/transport.c \
	workers/transport_tls.c \
	workers/transport_ws.c \
	workers/ws_upgrade.c
UNIT_TESTS += t/unit/check_listeners.c
UNIT_EXTRA_LIBS += $(WSLAY_LIBS)
comqttd_LIBS += $(WSLAY_LIBS)
