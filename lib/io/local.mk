# lib/io: the planner and the executors that move tensor bytes.
lib_libh5ckpt_core_la_SOURCES += \
	lib/io/plan.c \
	lib/io/exec_plain.c \
	lib/io/exec_fast.c \
	lib/io/executor.c \
	lib/io/stage.c \
	lib/io/replica.c \
	lib/io/exchange.c \
	lib/io/homes.c
