# lib/format: the HDF5 profile (format-spec/FORMAT.md): types, attributes,
# file access, objects, the index, validation, checksums, verification,
# temporary names.
lib_libh5ckpt_core_la_SOURCES += \
	lib/format/format.h \
	lib/format/h5type.c \
	lib/format/attr.c \
	lib/format/access.c \
	lib/format/objects.c \
	lib/format/validate.c \
	lib/format/index.c \
	lib/format/checksum.c \
	lib/format/checksum_read.c \
	lib/format/verify.c \
	lib/format/verify_checksums.c \
	lib/format/leftovers.c \
	lib/format/space.c
