# Benchmarks (built by `make check`, never run by it): scripts/bench_checksums.sh
check_PROGRAMS += bench/bench_checksums
bench_bench_checksums_SOURCES = bench/bench_checksums.c
bench_bench_checksums_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
EXTRA_DIST += scripts/bench_checksums.sh

# Per-phase costs at 1-8 ranks and 1k-100k tensors: scripts/bench-scale.sh,
# docs/SCALING.md.  The library's internal phases and its MPI calls are
# timed and counted through the linker's --wrap (no change to the library).
check_PROGRAMS += bench/bench_scale
bench_bench_scale_SOURCES = bench/bench_scale.c
bench_bench_scale_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
bench_scale_wraps = h5ckpt_flush h5ckpt__plan_build h5ckpt__sums_record \
	h5ckpt__io_write h5ckpt__io_read h5ckpt__objects_create \
	h5ckpt__meta_share_offsets h5ckpt__sums_write h5ckpt__index_load \
	h5ckpt__sums_load h5ckpt__replica_plan h5ckpt__exchange_plan \
	h5ckpt__exchange_run h5ckpt__sums_check_reads MPI_Bcast MPI_Allreduce \
	MPI_Exscan MPI_Allgather MPI_Allgatherv MPI_Gather MPI_Gatherv MPI_Alltoallv \
	MPI_Ibarrier MPI_Comm_split_type
bench_bench_scale_LDFLAGS = $(bench_scale_wraps:%=-Wl,--wrap=%)
EXTRA_DIST += scripts/bench-scale.sh
# The plain executor's independent reads against collective ones:
# scripts/bench_plain_reads.sh
check_PROGRAMS += bench/bench_plain_reads
bench_bench_plain_reads_SOURCES = bench/bench_plain_reads.c
bench_bench_plain_reads_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
EXTRA_DIST += scripts/bench_plain_reads.sh
