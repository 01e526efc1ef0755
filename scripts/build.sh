#!/bin/sh
# Configure (once) and build in the source tree.  Extra arguments go to
# ./configure.
set -e
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi >/dev/null
fi
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
    ./configure -q "$@"
fi
make -j"$(nproc)" >/dev/null
