# Tests.  Each test binary runs through tests/run-test.sh, which wraps it in
# `timeout` and, for MPI tests, runs it at 1, 2, 3 and 4 ranks.
TEST_EXTENSIONS = .sh
LOG_COMPILER = $(top_srcdir)/tests/run-test.sh
SH_LOG_COMPILER = $(top_srcdir)/tests/run-test.sh
AM_TESTS_ENVIRONMENT = \
	MPIEXEC='$(MPIEXEC)' TEST_TIMEOUT='$(TEST_TIMEOUT)' H5DUMP='$(H5DUMP)' \
	PYTHON_H5PY='$(PYTHON_H5PY)' top_srcdir='$(top_srcdir)' \
	top_builddir='$(top_builddir)' OMPI_ALLOW_RUN_AS_ROOT=1 \
	OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1; \
	export MPIEXEC TEST_TIMEOUT H5DUMP PYTHON_H5PY top_srcdir top_builddir \
	OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
	OMPI_MCA_rmaps_base_oversubscribe;
EXTRA_DIST += tests/run-test.sh

include tests/unit/local.mk
include tests/mpi/local.mk
include tests/scripts/local.mk
include tests/cli/local.mk
include tests/train/local.mk
include tests/crash/local.mk
include tests/corpus/local.mk
include tests/gpu/local.mk
include tests/cluster/local.mk
include tests/python/local.mk
