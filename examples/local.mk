# Examples: the demo run by the README's first command.
noinst_PROGRAMS += examples/demo
examples_demo_SOURCES = examples/demo.c
examples_demo_LDADD = lib/libh5ckpt.la

# The training-state proof: an MLP trained with Adam, resumable on any mesh
# (tests/train/resume.sh).
noinst_PROGRAMS += examples/train_mlp
examples_train_mlp_SOURCES = examples/train_mlp.c
examples_train_mlp_LDADD = lib/libh5ckpt.la -lm
