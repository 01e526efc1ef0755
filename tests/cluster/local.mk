# The simulated cluster (tests/cluster): several "nodes" on this machine,
# each a UTS namespace with its own host name, launched by mpirun-nodes
# through the rsh agent `agent`.  Each NAME.cluster file names one MPI test
# binary and the node layouts it runs at (NODESxRANKS per node); run-test.sh
# runs it there under both executors (or the one its executors= word
# names).  Where the cluster cannot be made
# (not root, no unshare) these tests print "skipped: ..." and are SKIPs.
TEST_EXTENSIONS += .cluster
CLUSTER_LOG_COMPILER = $(top_srcdir)/tests/run-test.sh
EXTRA_DIST += tests/cluster/agent tests/cluster/mpirun-nodes scripts/bench-nodes.sh

if HAVE_CHECK

# The MPI suite across nodes (after the one-node runs of each binary).
CLUSTER_TESTS = tests/cluster/nodes.cluster tests/cluster/roundtrip.cluster \
	tests/cluster/layouts.cluster tests/cluster/executors.cluster \
	tests/cluster/exchange.cluster tests/cluster/checksums.cluster \
	tests/cluster/crash.cluster tests/cluster/disagree.cluster \
	tests/cluster/device.cluster
TESTS += $(CLUSTER_TESTS)
EXTRA_DIST += $(CLUSTER_TESTS)
endif
