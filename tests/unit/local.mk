# tests/unit: Check programs for the pure logic (layout arithmetic, names,
# dtypes, packing, utilities).  They never call MPI_Init and link the
# convenience library to reach internal h5ckpt__ functions.
if HAVE_CHECK
UNIT_TESTS = \
	tests/unit/test_layout \
	tests/unit/test_names \
	tests/unit/test_dtype \
	tests/unit/test_pack \
	tests/unit/test_util
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
UNIT_LDADD = lib/libh5ckpt_core.la $(CHECK_LIBS) $(HDF5_LIBS)

tests_unit_test_layout_SOURCES = tests/unit/test_layout.c
tests_unit_test_layout_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_layout_LDADD = $(UNIT_LDADD)

tests_unit_test_names_SOURCES = tests/unit/test_names.c
tests_unit_test_names_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_names_LDADD = $(UNIT_LDADD)

tests_unit_test_dtype_SOURCES = tests/unit/test_dtype.c
tests_unit_test_dtype_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_dtype_LDADD = $(UNIT_LDADD)

tests_unit_test_pack_SOURCES = tests/unit/test_pack.c
tests_unit_test_pack_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_pack_LDADD = $(UNIT_LDADD)

tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_test_util_LDADD = $(UNIT_LDADD)
endif
