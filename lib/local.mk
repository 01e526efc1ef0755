# libh5ckpt: a convenience library with every object (the unit tests link it
# to reach internal functions) wrapped by the installed shared/static library,
# which exports only h5ckpt_* symbols.
noinst_LTLIBRARIES += lib/libh5ckpt_core.la
lib_libh5ckpt_core_la_SOURCES = \
	lib/h5ckpt_private.h \
	lib/error.c \
	lib/util.c \
	lib/name.c \
	lib/dtype.c \
	lib/layout.c \
	lib/pack.c \
	lib/mesh.c \
	lib/attr.c \
	lib/file.c \
	lib/queue.c \
	lib/index.c \
	lib/plan.c \
	lib/exec_plain.c \
	lib/verify.c \
	lib/verify_checksums.c \
	lib/info.c \
	lib/checksum.c \
	lib/checksum_read.c \
	lib/leftovers.c \
	lib/exec_fast.c \
	lib/meta.c \
	lib/executor.c \
	lib/device.c \
	lib/stage.c \
	lib/replica.c \
	lib/exchange.c
lib_libh5ckpt_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DH5CKPT_BUILDING
lib_libh5ckpt_core_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
lib_libh5ckpt_core_la_LIBADD = $(HDF5_LIBS) $(XXHASH_LIBS)

lib_LTLIBRARIES += lib/libh5ckpt.la
lib_libh5ckpt_la_SOURCES =
lib_libh5ckpt_la_LIBADD = lib/libh5ckpt_core.la
lib_libh5ckpt_la_LDFLAGS = -no-undefined -version-info $(H5CKPT_LT_VERSION) \
	-export-symbols-regex '^h5ckpt_[a-z]'

include_HEADERS += lib/h5ckpt.h
nodist_include_HEADERS += lib/h5ckpt_version.h

# Training-state layer: numbered checkpoint directories and the state object.
lib_libh5ckpt_core_la_SOURCES += lib/ckdir.c lib/state.c

# Device backends (CUDA, NCCL, none).
include lib/device.mk
