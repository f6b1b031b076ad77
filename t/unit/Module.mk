# t/unit — the shared main of the Check suites (suites are listed by the
# Module.mk of the module they test).
LIB_SRCS +=
