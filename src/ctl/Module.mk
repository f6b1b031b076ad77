# src/ctl — comqttctl, the command-line client of the admin REST API.
PROGRAMS += comqttctl
comqttctl_SRCS = \
	src/ctl/cmds.c \
	src/ctl/cmds_broker.c \
	src/ctl/http.c \
	src/ctl/main.c \
	src/ctl/out.c
comqttctl_LIBS = $(CURL_LIBS)
