# tests/gpu: the CUDA backend (test_cuda_backend, internals), device-buffer
# round trips through the public API (test_cuda_roundtrip, MPI, 1-4 ranks)
# and `h5ckpt bench --device cuda` (bench_cuda.sh).  Built with CUDA only;
# without a device each prints "skipped: no CUDA device (...)" and exits 77.
# bench_cuda.sh runs in every build (without CUDA it checks the tool's
# refusal and skips).
TESTS += tests/gpu/bench_cuda.sh
EXTRA_DIST += tests/gpu/bench_cuda.sh
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
tests_gpu_test_cuda_roundtrip_SOURCES = tests/gpu/test_cuda_roundtrip.c \
	tests/mpi/values.c tests/mpi/values.h tests/mpi/harness.c tests/mpi/harness.h
tests_gpu_test_cuda_roundtrip_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/mpi $(CUDA_CFLAGS) \
	$(GPU_NCCL_CPPFLAGS)
tests_gpu_test_cuda_roundtrip_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_gpu_test_cuda_roundtrip_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS) $(CUDA_LIBS)
endif
endif
