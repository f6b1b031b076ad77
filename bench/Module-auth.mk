# bench — auth_bench: AUTH and ACL questions per second through
# comqtt-authd from one pipelined client (bench/AUTH.md).
BENCH_PROGRAMS += auth_bench
auth_bench_SRCS = bench/auth_bench.c
auth_bench_LIBS = $(JEMALLOC_LIBS)
