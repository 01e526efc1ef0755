#!/bin/sh
# Run the serial unit tests (tests/unit/test_*) under valgrind memcheck and
# fail on any error or definite leak.  Check runs in no-fork mode so that
# valgrind follows every test.  Builds the tests first; installs valgrind
# if missing (as root).  Part of scripts/test.sh (about a minute).
#   sh scripts/valgrind.sh [test binaries...]
set -e
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || { echo "install valgrind first" >&2; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
tests=${*:-$(sed -n 's|^\ttests/unit/\(test_[a-z_]*\).*|tests/unit/\1|p' tests/unit/local.mk)}
# shellcheck disable=SC2086
make -j"$(nproc)" $tests >/dev/null
status=0
for t in $tests; do
    if CK_FORK=no timeout 600 valgrind -q --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        "$t" >"$t.valgrind.log" 2>&1; then
        echo "valgrind clean: $t"
    else
        echo "valgrind FAILED: $t (see $t.valgrind.log)"
        tail -n 40 "$t.valgrind.log"
        status=1
    fi
done
exit "$status"
