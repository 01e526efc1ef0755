# lib/format: the HDF5 profile (format-spec/FORMAT.md): attributes, objects,
# the index, checksums, verification, temporary names.
lib_libh5ckpt_core_la_SOURCES += \
	lib/format/attr.c \
	lib/format/index.c \
	lib/format/checksum.c \
	lib/format/checksum_read.c \
	lib/format/verify.c \
	lib/format/verify_checksums.c \
	lib/format/leftovers.c \
	lib/format/meta.c
