dnl CQ_ARG_ASAN: --enable-asan builds everything with AddressSanitizer and
dnl UndefinedBehaviorSanitizer (and without jemalloc).
AC_DEFUN([CQ_ARG_ASAN], [
  AC_ARG_ENABLE([asan],
    [AS_HELP_STRING([--enable-asan], [build with AddressSanitizer + UndefinedBehaviorSanitizer])],
    [], [enable_asan=no])
  AS_IF([test "x$enable_asan" = "xyes"],
    [SAN_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
     AC_DEFINE([CQ_ASAN], [1], [Built with sanitizers])],
    [SAN_CFLAGS=""])
  AC_SUBST([SAN_CFLAGS])
  AC_SUBST([enable_asan])
])

dnl CQ_ARG_FUZZ: --enable-fuzz builds the libFuzzer targets in fuzz/ (needs clang).
AC_DEFUN([CQ_ARG_FUZZ], [
  AC_ARG_ENABLE([fuzz],
    [AS_HELP_STRING([--enable-fuzz], [build libFuzzer targets (CC=clang)])],
    [], [enable_fuzz=no])
  AC_SUBST([enable_fuzz])
])
