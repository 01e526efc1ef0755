# libh5ckpt: a convenience library with every object (the unit tests link it
# to reach internal functions) wrapped by the installed shared/static library,
# which exports only h5ckpt_* symbols.  Each layer's folder lists its own
# sources in its local.mk (lib/README.md says what each layer is).
noinst_LTLIBRARIES += lib/libh5ckpt_core.la
lib_libh5ckpt_core_la_SOURCES =
lib_libh5ckpt_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DH5CKPT_BUILDING
lib_libh5ckpt_core_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
lib_libh5ckpt_core_la_LIBADD = $(HDF5_LIBS) $(XXHASH_LIBS)

include lib/base/local.mk
include lib/layout/local.mk
include lib/format/local.mk
include lib/device/local.mk
include lib/io/local.mk
include lib/handle/local.mk
include lib/train/local.mk

lib_LTLIBRARIES += lib/libh5ckpt.la
lib_libh5ckpt_la_SOURCES =
lib_libh5ckpt_la_LIBADD = lib/libh5ckpt_core.la
lib_libh5ckpt_la_LDFLAGS = -no-undefined -version-info $(H5CKPT_LT_VERSION) \
	-export-symbols-regex '^h5ckpt_[a-z]' $(DEVICE_RPATH)

include_HEADERS += lib/h5ckpt.h
nodist_include_HEADERS += lib/h5ckpt_version.h

# The library's C sources for builds outside automake (scripts/fuzz.sh
# compiles them with clang and libFuzzer): every layer's list above, with
# the host-only device backend whatever this build chose.
print-lib-sources:
	@echo $(filter %.c,$(filter-out lib/device/device_%.c,$(lib_libh5ckpt_core_la_SOURCES))) \
		lib/device/device_none.c
.PHONY: print-lib-sources
