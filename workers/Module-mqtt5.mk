# workers — MQTT 5 parts of the runtime: topic aliases (alias.c), reason
# strings and what the client accepts on the way out (reply.c), enhanced
# authentication (enhanced_auth.c) and its built-in test method
# (hook_test_auth.c), shared-subscription messages handed to another
# member (share.c).
LIB_SRCS += \
	workers/alias.c \
	workers/enhanced_auth.c \
	workers/hook_test_auth.c \
	workers/reply.c \
	workers/share.c
