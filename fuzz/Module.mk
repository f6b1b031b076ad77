# fuzz — libFuzzer targets, built by 'make fuzz' (clang, build-fuzz/).
FUZZ_TARGETS += fuzz/fuzz_decode.c
