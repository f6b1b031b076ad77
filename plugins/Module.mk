# plugins — processes and backends that plug into the broker; each
# subdirectory has its own Module.mk (plugins/authd/Module.mk).
