#!/bin/sh
# The include graph of lib/ by layer folder (lib/README.md): prints each
# layer's includes and exits 1 on an include of a layer it may not use (a
# layer above it, or lib/device outside the layers that use devices), on a
# private header used outside its layer, or on a cycle.  CI runs it.
set -u
cd "$(dirname "$0")/.." || exit 2
# layer: the layers it may include (besides itself and lib/h5ckpt.h)
allowed() {
    case "$1" in
    base) echo "" ;;
    layout) echo "base" ;;
    device) echo "base layout" ;;
    format) echo "base layout" ;;
    io) echo "base layout format device" ;;
    handle) echo "base layout format io device" ;;
    train) echo "base layout format io handle" ;;
    *) echo "?" ;;
    esac
}
layers="base layout device format io handle train"
status=0
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for dir in lib/*/; do
    l=$(basename "$dir")
    case " $layers " in *" $l "*) ;; *) echo "lib/$l: not a known layer (add it to lib/README.md and this script)"; status=1; continue ;; esac
    ok=$(allowed "$l")
    used=""
    for f in "$dir"*.c "$dir"*.h; do
        [ -f "$f" ] || continue
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
            case "$inc" in
            h5ckpt.h|h5ckpt_version.h|config.h) continue ;;
            */*) to=${inc%%/*} ;;
            *) to=$l ;; # a header beside the file
            esac
            [ "$to" = "$l" ] && continue
            case " $ok " in
            *" $to "*) ;;
            *) echo "$f: includes $inc: layer $l may not use layer $to"; status=1 ;;
            esac
            # the io layer's internal header stays inside it
            [ "$inc" = io/exec.h ] && { echo "$f: includes io/exec.h, lib/io's own header"; status=1; }
            case " $used " in *" $to "*) ;; *) used="$used $to" ;; esac
            echo "$l $to" >>"$edges"
        done
    done
    printf '%-7s -> %s\n' "$l" "${used# }"
done
# device.h above lib/io: only the memory-kind check of a put or get
for f in $(grep -l '#include "device/' lib/handle/*.c lib/handle/*.h 2>/dev/null); do
    [ "$f" = lib/handle/queue.c ] || { echo "$f: includes lib/device (only queue.c may)"; status=1; }
done
if ! sort -u "$edges" | tsort >/dev/null 2>&1; then
    echo "the layers' includes form a cycle:"
    sort -u "$edges" | tsort 2>&1 >/dev/null | sed 's/^/  /'
    status=1
fi
[ "$status" = 0 ] && echo "layers: no upward or circular include"
exit "$status"
