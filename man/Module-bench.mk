# man — the page of the benchmark tools.
MAN_PAGES += man/comqtt-bench.1
