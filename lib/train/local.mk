# lib/train: the training-state layer, numbered checkpoint directories and
# the entry points of language bindings (MPI_Fint communicators).
lib_libh5ckpt_core_la_SOURCES += \
	lib/train/train.h \
	lib/train/ckdir.c \
	lib/train/state.c \
	lib/train/binding.c
