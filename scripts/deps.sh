#!/bin/sh
# Install what h5ckpt needs on Debian bookworm, only what is missing.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -e
H5CKPT_DEPS="gcc make autoconf automake libtool pkg-config \
libhdf5-openmpi-dev openmpi-bin hdf5-tools check libxxhash-dev libjansson-dev \
python3-h5py python3-numpy python3-mpi4py python3-pytest python3-torch procps valgrind"
missing=""
for p in $H5CKPT_DEPS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    if [ "$(id -u)" != 0 ]; then
        echo "not root: run  sudo apt-get install -y$missing" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq $missing >/dev/null
fi
# Open MPI refuses to run as root unless told; 2 cores need oversubscription.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
