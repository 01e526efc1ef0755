# lib/handle: checkpoint handles (create, open, commit, close), the queue and
# flush, attributes, listings, root information.
lib_libh5ckpt_core_la_SOURCES += \
	lib/handle/handle.h \
	lib/handle/file.c \
	lib/handle/queue.c \
	lib/handle/attr.c \
	lib/handle/listing.c \
	lib/handle/info.c
