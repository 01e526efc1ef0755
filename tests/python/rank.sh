#!/bin/sh
# Run a command as one MPI rank: rank 0's output goes to the terminal, the
# other ranks' to $H5CKPT_PY_LOGDIR/rank<N>.log (run.sh shows them when a
# run fails).
r=${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}
if [ "$r" = 0 ] || [ -z "${H5CKPT_PY_LOGDIR:-}" ]; then
    exec "$@"
fi
exec "$@" >"$H5CKPT_PY_LOGDIR/rank$r.log" 2>&1
