# tests/cli: the h5ckpt tool (ls, verify, diff, export, import) and its
# interoperability (h5py, an independent safetensors/npy reader).
check_PROGRAMS += tests/cli/fixture
tests_cli_fixture_SOURCES = tests/cli/fixture.c
tests_cli_fixture_LDADD = lib/libh5ckpt.la
if BUILD_TOOLS
TESTS += tests/cli/cli.sh tests/cli/interop.sh tests/cli/corpus_verify.sh tests/cli/hostile.sh
endif
EXTRA_DIST += tests/cli/cli.sh tests/cli/interop.sh tests/cli/corpus_verify.sh tests/cli/read_exports.py \
	tests/cli/hostile.sh \
	tests/cli/bad_safetensors.py
