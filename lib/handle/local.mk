# lib/handle: checkpoint handles (create, open, commit, close), the queue.
lib_libh5ckpt_core_la_SOURCES += \
	lib/handle/file.c \
	lib/handle/queue.c \
	lib/handle/info.c \
	lib/handle/binding.c
