# PSHM_ADD_CFLAG(FLAG, VARIABLE)
# Append FLAG to VARIABLE when the C compiler accepts it (with -Werror, so
# that a warning about an unknown flag counts as a refusal).
AC_DEFUN([PSHM_ADD_CFLAG], [
  AS_VAR_PUSHDEF([pshm_cv], [pshm_cv_cflag_$1])
  AC_CACHE_CHECK([whether $CC accepts $1], [pshm_cv], [
    pshm_save_CFLAGS=$CFLAGS
    CFLAGS="$CFLAGS -Werror $1"
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
                      [AS_VAR_SET([pshm_cv], [yes])],
                      [AS_VAR_SET([pshm_cv], [no])])
    CFLAGS=$pshm_save_CFLAGS])
  AS_VAR_IF([pshm_cv], [yes], [AS_VAR_APPEND([$2], [" $1"])])
  AS_VAR_POPDEF([pshm_cv])
])

# PSHM_ADD_LDFLAG(FLAG, VARIABLE)
# Append FLAG to VARIABLE when linking with it works.
AC_DEFUN([PSHM_ADD_LDFLAG], [
  AS_VAR_PUSHDEF([pshm_cv], [pshm_cv_ldflag_$1])
  AC_CACHE_CHECK([whether the linker accepts $1], [pshm_cv], [
    pshm_save_LDFLAGS=$LDFLAGS
    LDFLAGS="$LDFLAGS $1"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
                   [AS_VAR_SET([pshm_cv], [yes])],
                   [AS_VAR_SET([pshm_cv], [no])])
    LDFLAGS=$pshm_save_LDFLAGS])
  AS_VAR_IF([pshm_cv], [yes], [AS_VAR_APPEND([$2], [" $1"])])
  AS_VAR_POPDEF([pshm_cv])
])
