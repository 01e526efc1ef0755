# The h5ckpt command-line tool: tools/h5ckpt.c dispatches to one
# tools/cmd_<name>.c per subcommand (table in tools/commands.h).
# configure --disable-tools leaves it out (it alone needs jansson).
if BUILD_TOOLS
bin_PROGRAMS += tools/h5ckpt
tools_h5ckpt_SOURCES = \
	tools/h5ckpt.c \
	tools/cli.c \
	tools/cli.h \
	tools/commands.h \
	tools/cmd_version.c \
	tools/tool.h \
	tools/tool.c \
	tools/cmd_ls.c \
	tools/cmd_verify.c \
	tools/cmd_export.c \
	tools/cmd_import.c \
	tools/cmd_diff.c \
	tools/sandbox.h \
	tools/sandbox.c
tools_h5ckpt_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tools_h5ckpt_LDADD = lib/libh5ckpt.la $(JANSSON_LIBS) -lm
# h5ckpt bench
tools_h5ckpt_SOURCES += tools/cmd_bench.c tools/bench.h tools/bench_state.c \
	tools/bench_io.c tools/bench_async.c
# `bench --device cuda`: the CUDA side in its own file (links cudart).
# CUDA_CFLAGS and CUDA_LIBS are empty without CUDA.
tools_h5ckpt_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS)
tools_h5ckpt_LDADD += $(CUDA_LIBS)
if HAVE_CUDA
tools_h5ckpt_SOURCES += tools/bench_cuda.c
else
tools_h5ckpt_SOURCES += tools/bench_nocuda.c
endif
endif
