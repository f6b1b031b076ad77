# src/core — the auth: section of the configuration (conf_auth.c), kept
# apart from conf.c so the two change independently.
LIB_SRCS += src/core/conf_auth.c
# The storage: section (conf_storage.c), apart from conf.c the same way.
LIB_SRCS += src/core/conf_storage.c
