dnl CQ_PKG(VAR, MODULE-SPEC, DEBIAN-PACKAGE)
dnl Look a library up with pkg-config and set VAR_CFLAGS / VAR_LIBS; when it
dnl is missing, stop with a message that names the Debian package.
AC_DEFUN([CQ_PKG], [
  PKG_CHECK_MODULES([$1], [$2], [],
    [AC_MSG_ERROR([$2 not found by pkg-config; install it with: apt-get install $3  (or run: make deps)])])
])

dnl CQ_LIB(VAR, LIB, FUNCTION, HEADER, DEBIAN-PACKAGE)
dnl For libraries that ship no pkg-config file.
AC_DEFUN([CQ_LIB], [
  AC_CHECK_HEADER([$4], [],
    [AC_MSG_ERROR([$4 not found; install it with: apt-get install $5  (or run: make deps)])])
  AC_CHECK_LIB([$2], [$3], [$1_LIBS="-l$2"],
    [AC_MSG_ERROR([lib$2 not found; install it with: apt-get install $5  (or run: make deps)])])
  $1_CFLAGS=
  AC_SUBST([$1_CFLAGS])
  AC_SUBST([$1_LIBS])
])
