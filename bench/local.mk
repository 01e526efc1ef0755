# Benchmarks (built by `make check`, never run by it): scripts/bench_checksums.sh
check_PROGRAMS += bench/bench_checksums
bench_bench_checksums_SOURCES = bench/bench_checksums.c
bench_bench_checksums_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
EXTRA_DIST += scripts/bench_checksums.sh
# The plain executor's independent reads against collective ones:
# scripts/bench_plain_reads.sh
check_PROGRAMS += bench/bench_plain_reads
bench_bench_plain_reads_SOURCES = bench/bench_plain_reads.c
bench_bench_plain_reads_LDADD = lib/libh5ckpt_core.la $(HDF5_LIBS) $(XXHASH_LIBS)
EXTRA_DIST += scripts/bench_plain_reads.sh
