# lib/base: errors and messages, byte buffers and string maps, names, dtypes.
lib_libh5ckpt_core_la_SOURCES += \
	lib/base/error.c \
	lib/base/util.c \
	lib/base/name.c \
	lib/base/dtype.c \
	lib/base/knobs.c \
	lib/base/mpi.c \
	lib/base/base.h
