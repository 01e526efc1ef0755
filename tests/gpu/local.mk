# tests/gpu: the CUDA backend (test_cuda_backend, internals), device-buffer
# round trips through the public API (test_cuda_roundtrip, MPI, 1-4 ranks),
# both built with CUDA only: without a device each prints "skipped: no CUDA
# device (...)" and exits 77.  In every build: `h5ckpt bench --device cuda`
# (bench_cuda.sh: without CUDA or a device it checks the tool's refusal and
# skips) and the device pack logic on an emulated runtime
# (test_cuda_pack_emulated).
if BUILD_TOOLS
TESTS += tests/gpu/bench_cuda.sh
endif
EXTRA_DIST += tests/gpu/bench_cuda.sh
# The device pack logic of lib/device/device_cuda.c against the host pack, on an
# emulated CUDA runtime: every build, no GPU or CUDA needed.
if HAVE_CHECK
check_PROGRAMS += tests/gpu/test_cuda_pack_emulated
TESTS += tests/gpu/test_cuda_pack_emulated
tests_gpu_test_cuda_pack_emulated_SOURCES = tests/gpu/test_cuda_pack_emulated.c \
	tests/gpu/emu/cuda_runtime.h
tests_gpu_test_cuda_pack_emulated_CPPFLAGS = -I$(top_srcdir)/tests/gpu/emu -I$(top_srcdir)/lib/device $(AM_CPPFLAGS)
tests_gpu_test_cuda_pack_emulated_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_gpu_test_cuda_pack_emulated_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
if HAVE_CUDA
if HAVE_CHECK
GPU_NCCL_CPPFLAGS =
if HAVE_NCCL
GPU_NCCL_CPPFLAGS += -DH5CKPT_TEST_NCCL=1
endif
check_PROGRAMS += tests/gpu/test_cuda_backend tests/gpu/test_cuda_roundtrip
TESTS += tests/gpu/test_cuda_backend tests/gpu/test_cuda_roundtrip
tests_gpu_test_cuda_backend_SOURCES = tests/gpu/test_cuda_backend.c
tests_gpu_test_cuda_backend_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS) $(GPU_NCCL_CPPFLAGS)
tests_gpu_test_cuda_backend_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_gpu_test_cuda_backend_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) $(CUDA_LIBS)
tests_gpu_test_cuda_roundtrip_SOURCES = tests/gpu/test_cuda_roundtrip.c
tests_gpu_test_cuda_roundtrip_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/mpi $(CUDA_CFLAGS) \
	$(GPU_NCCL_CPPFLAGS)
tests_gpu_test_cuda_roundtrip_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_gpu_test_cuda_roundtrip_LDADD = tests/mpi/libharness.la lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS) $(CUDA_LIBS)
endif
endif
