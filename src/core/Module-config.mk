# src/core — the configuration (libyaml, table-driven) and its small parsers.
LIB_SRCS += \
	src/core/addr.c \
	src/core/conf.c \
	src/core/config_schema.c \
	src/core/config_types.c \
	src/core/config_yaml.c \
	src/core/units.c
UNIT_TESTS += t/unit/check_config.c t/unit/check_config_engine.c
