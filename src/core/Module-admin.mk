# src/core — the admin: section of the configuration (conf_admin.c) and
# the JSON reader/writer the admin API and comqttctl share.
LIB_SRCS += src/core/conf_admin.c src/core/json.c
UNIT_TESTS += t/unit/check_json.c
