# tests/cli: the h5ckpt tool (ls, verify, diff, export, import) and its
# interoperability (h5py, an independent safetensors/npy reader).
check_PROGRAMS += tests/cli/fixture
tests_cli_fixture_SOURCES = tests/cli/fixture.c
tests_cli_fixture_LDADD = lib/libh5ckpt.la
TESTS += tests/cli/cli.sh tests/cli/interop.sh
EXTRA_DIST += tests/cli/cli.sh tests/cli/interop.sh tests/cli/read_exports.py \
	tests/cli/bad_safetensors.py
