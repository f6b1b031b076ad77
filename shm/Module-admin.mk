# shm — the admin's modules: control rings into the workers, the blacklist.
LIB_SRCS += shm/blacklist.c shm/ctl.c
UNIT_TESTS += t/unit/check_shm_ctl.c
