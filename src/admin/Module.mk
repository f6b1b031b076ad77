# src/admin — comqtt-admin: the broker's HTTP(S) process (REST API,
# Prometheus metrics, dashboard), a child of comqttd.
LIB_SRCS += \
	src/admin/acall.c \
	src/admin/admin.c \
	src/admin/describe.c \
	src/admin/http.c \
	src/admin/res_blacklist.c \
	src/admin/res_clients.c \
	src/admin/res_config.c \
	src/admin/res_message.c \
	src/admin/res_metrics.c \
	src/admin/res_retained.c \
	src/admin/res_stats.c \
	src/admin/res_topics.c \
	src/admin/snap.c \
	src/admin/static.c \
	src/admin/token.c
