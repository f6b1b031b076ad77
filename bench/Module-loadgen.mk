# bench — comqtt-bench, the MQTT load generator (see bench/LOADGEN.md and
# comqtt-bench(1)).  Its own client encoding: it links no broker module.
PROGRAMS += comqtt-bench
comqtt-bench_SRCS = \
	bench/comqtt-bench.c \
	bench/cb_client.c \
	bench/cb_conn.c \
	bench/cb_hist.c \
	bench/cb_loop.c \
	bench/cb_mqtt.c \
	bench/cb_opts.c \
	bench/cb_proc.c \
	bench/cb_report.c \
	bench/cb_setup.c \
	bench/cb_tls.c \
	bench/cb_track.c \
	bench/cb_ws.c
comqtt-bench_LIBS = $(OPENSSL_LIBS)

# Unit suites of the generator's pure modules; each links the object it
# tests (the bench objects are not in libcomqtt.a).
UNIT_TESTS += t/unit/check_cb_track.c t/unit/check_cb_hist.c \
	t/unit/check_cb_mqtt.c t/unit/check_cb_opts.c
t/unit/check_cb_track.t: obj/bench/cb_track.o
t/unit/check_cb_track.t: UNIT_EXTRA_LIBS += obj/bench/cb_track.o
t/unit/check_cb_hist.t: obj/bench/cb_hist.o
t/unit/check_cb_hist.t: UNIT_EXTRA_LIBS += obj/bench/cb_hist.o
t/unit/check_cb_mqtt.t: obj/bench/cb_mqtt.o obj/bench/cb_ws.o
t/unit/check_cb_mqtt.t: UNIT_EXTRA_LIBS += obj/bench/cb_mqtt.o \
	obj/bench/cb_ws.o
t/unit/check_cb_opts.t: obj/bench/cb_opts.o
t/unit/check_cb_opts.t: UNIT_EXTRA_LIBS += obj/bench/cb_opts.o
