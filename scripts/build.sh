#!/bin/sh
# Configure (when needed) and build in the source tree.  Extra arguments go to
# ./configure.  Safe to rerun after an interrupted run.
set -e
cd "$(dirname "$0")/.."
if [ ! -x configure ] || [ ! -f Makefile.in ] || [ configure.ac -nt configure ] ||
    [ Makefile.am -nt Makefile.in ]; then
    autoreconf -fi >autoreconf.log 2>&1 || { cat autoreconf.log; exit 1; }
fi
if [ ! -f Makefile ] || [ ! -f config.status ] || [ $# -gt 0 ]; then
    ./configure -q "$@"
fi
make -j"$(nproc)" >/dev/null
