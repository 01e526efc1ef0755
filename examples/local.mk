# Examples: the demo run by the README's first command.
noinst_PROGRAMS += examples/demo
examples_demo_SOURCES = examples/demo.c
examples_demo_LDADD = lib/libh5ckpt.la
