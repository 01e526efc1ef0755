# python/: the h5ckpt Python package (a ctypes binding of libh5ckpt: no
# compile step).  `make install` copies it into H5CKPT_PYTHONDIR (configure
# --with-python-sitedir) with a _paths.py naming the installed library; from
# the build tree, tests import it with PYTHONPATH=python and
# H5CKPT_LIBRARY=lib/.libs/libh5ckpt.so (tests/python/run.sh).
h5ckptpydir = $(H5CKPT_PYTHONDIR)/h5ckpt
h5ckptpy_DATA = \
	python/h5ckpt/__init__.py \
	python/h5ckpt/_buffers.py \
	python/h5ckpt/_ckdir.py \
	python/h5ckpt/_errors.py \
	python/h5ckpt/_handle.py \
	python/h5ckpt/_layout.py \
	python/h5ckpt/_lib.py \
	python/h5ckpt/_live.py \
	python/h5ckpt/_mpi.py \
	python/h5ckpt/_reader.py \
	python/h5ckpt/_values.py
h5ckpttorchdir = $(H5CKPT_PYTHONDIR)/h5ckpt/torch
h5ckpttorch_DATA = \
	python/h5ckpt/torch/__init__.py \
	python/h5ckpt/torch/_dcp.py \
	python/h5ckpt/torch/_dcp_core.py \
	python/h5ckpt/torch/_seed.py \
	python/h5ckpt/torch/_state.py
EXTRA_DIST += $(h5ckptpy_DATA) $(h5ckpttorch_DATA) python/pyproject.toml python/README.md

# The installed package loads the installed library.
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(h5ckptpydir)'
	printf '"""Written by make install: where libh5ckpt is installed."""\nLIBDIR = %s\n' \
		"'$(libdir)'" >'$(DESTDIR)$(h5ckptpydir)/_paths.py'

uninstall-local:
	rm -f '$(DESTDIR)$(h5ckptpydir)/_paths.py'
EXTRA_DIST += python/bench/bench_torch.py python/bench/bench_reader.py \
	python/bench/summarize.py scripts/bench_python.sh
