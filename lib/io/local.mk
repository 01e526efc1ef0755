# lib/io: the planner, the executors, object creation, checksums of moved
# pieces, device mirrors and staging, replica groups, the node exchange,
# raw runs, the snapshot and background writer of asynchronous commits.
lib_libh5ckpt_core_la_SOURCES += \
	lib/io/io.h \
	lib/io/exec.h \
	lib/io/plan.c \
	lib/io/executor.c \
	lib/io/objects.c \
	lib/io/meta.c \
	lib/io/sums.c \
	lib/io/exec_plain.c \
	lib/io/exec_fast.c \
	lib/io/rawio.c \
	lib/io/async.c \
	lib/io/direct.c \
	lib/io/mirrors.c \
	lib/io/stage.c \
	lib/io/replica.c \
	lib/io/exchange.c
