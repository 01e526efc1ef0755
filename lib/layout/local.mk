# lib/layout: meshes, layouts and the pure arithmetic of boxes and packing.
lib_libh5ckpt_core_la_SOURCES += \
	lib/layout/layout.c \
	lib/layout/boxes.c \
	lib/layout/pack.c \
	lib/layout/mesh.c \
	lib/layout/runs.c \
	lib/layout/layout.h
