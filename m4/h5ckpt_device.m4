# h5ckpt_device.m4 -- CUDA and NCCL detection for h5ckpt's device backends.
#
# H5CKPT_CHECK_DEVICE
# -------------------
# Optional; auto-detected.  CUDA under /usr/local/cuda (or --with-cuda=DIR),
# NCCL beside it or in the system paths (or --with-nccl=DIR).  An explicit
# --with-X that is not found is an error; --without-X disables.  Sets and
# substitutes CUDA_CFLAGS, CUDA_LIBS, NCCL_CFLAGS, NCCL_LIBS and DEVICE_RPATH
# (-Wl,-rpath: libtool drops it from a convenience library's LIBADD, so
# binaries record the run path themselves); defines the automake
# conditionals HAVE_CUDA and HAVE_NCCL; leaves have_cuda, cuda_where,
# have_nccl and nccl_where for configure's summary line.  No config.h
# macros: the build picks files (lib/device/local.mk), code never #ifdefs.
AC_DEFUN([H5CKPT_CHECK_DEVICE], [
AC_ARG_WITH([cuda], [AS_HELP_STRING([--with-cuda@<:@=DIR@:>@],
  [CUDA toolkit for device buffers (default: auto, /usr/local/cuda)])], [], [with_cuda=auto])
AC_ARG_WITH([nccl], [AS_HELP_STRING([--with-nccl@<:@=DIR@:>@],
  [NCCL for replicated device reads (default: auto, beside CUDA or system); needs CUDA])],
  [], [with_nccl=auto])
have_cuda=no; cuda_where=; have_nccl=no; nccl_where=
AS_CASE([$with_cuda], [no], [], [yes|auto], [cuda_dir=/usr/local/cuda], [cuda_dir=$with_cuda])
AS_IF([test "x$with_cuda" != xno], [
  CUDA_CFLAGS="-isystem $cuda_dir/include"
  CUDA_LIBS="-L$cuda_dir/lib64 -lcudart"
  save_CPPFLAGS=$CPPFLAGS; CPPFLAGS="$CPPFLAGS $CUDA_CFLAGS"
  save_LIBS=$LIBS; LIBS="$CUDA_LIBS $LIBS"
  AC_MSG_CHECKING([for the CUDA runtime in $cuda_dir])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <cuda_runtime.h>]],
                                  [[int n; return cudaGetDeviceCount(&n) != cudaSuccess;]])],
                 [have_cuda=yes; cuda_where=$cuda_dir])
  AC_MSG_RESULT([$have_cuda])
  CPPFLAGS=$save_CPPFLAGS; LIBS=$save_LIBS
  AS_IF([test $have_cuda = no && test "x$with_cuda" != xauto],
        [AC_MSG_ERROR([--with-cuda: no cuda_runtime.h and libcudart in $cuda_dir])])])
AS_IF([test $have_cuda = no], [CUDA_CFLAGS=; CUDA_LIBS=
  AS_CASE([$with_nccl], [no|auto], [], [AC_MSG_ERROR([--with-nccl needs CUDA (--with-cuda)])])
  with_nccl=no])
AS_IF([test "x$with_nccl" != xno], [
  AS_CASE([$with_nccl], [yes|auto], [nccl_dir=$cuda_dir], [nccl_dir=$with_nccl
    AS_IF([test -f "$nccl_dir/include/nccl.h"], [],
          [AC_MSG_ERROR([--with-nccl=$nccl_dir: no $nccl_dir/include/nccl.h])])])
  NCCL_CFLAGS=; NCCL_LIBS=-lnccl; nccl_where=system
  AS_IF([test -f "$nccl_dir/include/nccl.h"], [NCCL_CFLAGS="-isystem $nccl_dir/include"])
  for d in "$nccl_dir/lib" "$nccl_dir/lib64"; do
    AS_IF([test -f "$d/libnccl.so"],
          [NCCL_LIBS="-L$d -lnccl"; nccl_where=$d; break])
  done
  save_CPPFLAGS=$CPPFLAGS; CPPFLAGS="$CPPFLAGS $NCCL_CFLAGS $CUDA_CFLAGS"
  save_LIBS=$LIBS; LIBS="$NCCL_LIBS $CUDA_LIBS $LIBS"
  AC_MSG_CHECKING([for NCCL ($nccl_where)])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <nccl.h>]],
                                  [[int v; return ncclGetVersion(&v) != ncclSuccess;]])],
                 [have_nccl=yes])
  AC_MSG_RESULT([$have_nccl])
  CPPFLAGS=$save_CPPFLAGS; LIBS=$save_LIBS
  AS_IF([test $have_nccl = no && test "x$with_nccl" != xauto],
        [AC_MSG_ERROR([--with-nccl: no nccl.h and libnccl usable with CUDA in $nccl_dir or the system])])])
AS_IF([test $have_nccl = no], [NCCL_CFLAGS=; NCCL_LIBS=; nccl_where=])
AS_IF([test $have_cuda = yes], [DEVICE_RPATH="-Wl,-rpath,$cuda_dir/lib64"])
AS_IF([test $have_nccl = yes && test "x$nccl_where" != xsystem],
      [DEVICE_RPATH="$DEVICE_RPATH -Wl,-rpath,$nccl_where"])
AC_SUBST([CUDA_CFLAGS])
AC_SUBST([CUDA_LIBS])
AC_SUBST([NCCL_CFLAGS])
AC_SUBST([NCCL_LIBS])
AC_SUBST([DEVICE_RPATH])
AM_CONDITIONAL([HAVE_CUDA], [test $have_cuda = yes])
AM_CONDITIONAL([HAVE_NCCL], [test $have_nccl = yes])
])
