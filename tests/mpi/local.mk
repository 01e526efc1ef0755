# tests/mpi rules

# Round trips and layout kinds (test_roundtrip, test_layouts).
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_roundtrip tests/mpi/test_layouts
TESTS += tests/mpi/test_roundtrip tests/mpi/test_layouts
tests_mpi_test_roundtrip_SOURCES = tests/mpi/test_roundtrip.c tests/mpi/values.c tests/mpi/values.h \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_roundtrip_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_roundtrip_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
tests_mpi_test_layouts_SOURCES = tests/mpi/test_layouts.c tests/mpi/values.c tests/mpi/values.h \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_layouts_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_layouts_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif

# The rank-disagreement matrix (test_disagree).
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_disagree
TESTS += tests/mpi/test_disagree
tests_mpi_test_disagree_SOURCES = tests/mpi/test_disagree.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_disagree_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_disagree_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif

# Reads whose selections overlap across ranks (test_overlap): the values
# stored, under both executors, contiguous and chunked, verified or not.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_overlap
TESTS += tests/mpi/test_overlap
tests_mpi_test_overlap_SOURCES = tests/mpi/test_overlap.c tests/mpi/values.c tests/mpi/values.h \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_overlap_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_overlap_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif

# The file a reader holds (test_held): the path replaced after open, a
# checkpoint deleted while being opened.  Links the convenience library
# statically so that its stat() calls reach the test's seam.
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_held
TESTS += tests/mpi/test_held
tests_mpi_test_held_SOURCES = tests/mpi/test_held.c tests/mpi/values.c tests/mpi/values.h \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_held_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_held_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS) $(XXHASH_LIBS)
endif

# The entry points of language bindings: MPI_Fint communicators,
# h5ckpt_memkind_usable (test_binding).
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_binding
TESTS += tests/mpi/test_binding
tests_mpi_test_binding_SOURCES = tests/mpi/test_binding.c tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_binding_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_binding_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif

# Several boxes per rank (h5ckpt_layout_boxes) (test_boxes).
if HAVE_CHECK
check_PROGRAMS += tests/mpi/test_boxes
TESTS += tests/mpi/test_boxes
tests_mpi_test_boxes_SOURCES = tests/mpi/test_boxes.c tests/mpi/values.c tests/mpi/values.h \
	tests/mpi/harness.c tests/mpi/harness.h
tests_mpi_test_boxes_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_mpi_test_boxes_LDADD = lib/libh5ckpt.la $(CHECK_LIBS) $(HDF5_LIBS)
endif
