# src/core — log, asserts, buffers, config, event-loop glue, fd passing.
LIB_SRCS += \
	src/core/assert.c \
	src/core/buf.c \
	src/core/channel.c \
	src/core/dirs.c \
	src/core/log.c \
	src/core/signals.c
UNIT_TESTS += t/unit/check_core.c
