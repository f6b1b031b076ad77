# bench — benchmarks (built by 'make bench' in the build directory).
# This fragment: micro-benchmarks of the shared-memory core.
BENCH_PROGRAMS += shm_bench
shm_bench_SRCS = bench/shm_bench.c
# Linked with jemalloc like the workers, so MALLOC_CONF applies as there.
shm_bench_LIBS = $(JEMALLOC_LIBS)
