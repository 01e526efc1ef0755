# lib/train: the training-state layer and numbered checkpoint directories.
lib_libh5ckpt_core_la_SOURCES += \
	lib/train/train.h \
	lib/train/ckdir.c \
	lib/train/state.c
