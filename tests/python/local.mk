# tests/python: the Python package's tests (pytest under mpirun, every rank
# running every test; tests/python/run.sh), split in two runs of two rank
# counts each so that each stays well inside TEST_TIMEOUT; and the PyTorch
# resume proof (4 -> 2 -> 3 ranks, bit for bit).  They skip visibly without
# numpy/mpi4py/pytest (torch for the torch tests) and against a sanitizer
# build (ctypes cannot load an ASan library into python).
# They check files with the tool, so they go with it (--disable-tools).
if BUILD_TOOLS
TESTS += tests/python/pytest-np12.sh tests/python/pytest-np34.sh tests/python/resume.sh
endif
EXTRA_DIST += tests/python/run.sh tests/python/rank.sh tests/python/pytest-np12.sh \
	tests/python/pytest-np34.sh tests/python/resume.sh tests/python/conftest.py \
	tests/python/compare.py tests/python/trainer.py tests/python/test_binding.py \
	tests/python/test_core.py tests/python/test_reader.py tests/python/test_torch.py \
	tests/python/test_seed.py tests/python/test_torch2.py tests/python/test_dcp_logic.py \
	tests/python/test_async.py
