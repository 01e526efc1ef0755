#!/bin/sh
# README command 1: install what is missing, build, run the demo (4 ranks save
# on a 2x2 mesh, 3 ranks load on a 1-D mesh), then show it with `h5dump -H`,
# `h5ckpt ls` and `h5ckpt verify`.
set -e
cd "$(dirname "$0")/.."
. scripts/deps.sh
sh scripts/build.sh
out=${TMPDIR:-/tmp}/h5ckpt-demo.h5
mpirun --oversubscribe -np 4 examples/demo "$out"
h5dump -H "$out"
tools/h5ckpt ls "$out"
tools/h5ckpt verify "$out"
