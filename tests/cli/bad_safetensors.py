"""Write malformed safetensors files for tests/cli/cli.sh, one per defect,
from a valid one: bad_safetensors.py GOOD OUTDIR.  Each file name says its
defect; cli.sh checks that `h5ckpt import` refuses every one."""
import json
import os
import struct
import sys

good, out = sys.argv[1], sys.argv[2]
data = open(good, "rb").read()
(n,) = struct.unpack("<Q", data[:8])
head = json.loads(data[8:8 + n])
body = data[8 + n:]


def write(name, header, payload=body, raw=None):
    if raw is None:
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        raw = struct.pack("<Q", len(h)) + h + payload
    open(os.path.join(out, name + ".safetensors"), "wb").write(raw)


def edit(fn):
    h = json.loads(json.dumps(head))
    fn(h)
    return h


first = min((k for k in head if k != "__metadata__"), key=lambda k: head[k]["data_offsets"][0])
write("short", None, raw=data[:5])
write("huge-length", None, raw=struct.pack("<Q", 2**63) + data[8:])
write("length-past-end", None, raw=struct.pack("<Q", len(data)) + data[8:])
write("not-json", None, raw=struct.pack("<Q", 8) + b"{nope!!}" + body)
write("truncated-data", head, body[:-3])
write("trailing-bytes", head, body + b"\0" * 8)
write("bad-dtype", edit(lambda h: h["dt/float32"].update(dtype="F99")))
write("negative-shape", edit(lambda h: h["dt/float32"].update(shape=[-16, 16])))
write("wrong-size", edit(lambda h: h["dt/float32"].update(shape=[16, 15])))
write("offsets-outside", edit(lambda h: h[first].update(data_offsets=[0, len(body) + 64])))
write("overlap", edit(lambda h: h["dt/float32"].update(
    data_offsets=[h["dt/float64"]["data_offsets"][0],
                  h["dt/float64"]["data_offsets"][0] + 1024])))
write("metadata-not-strings", edit(lambda h: h["__metadata__"].update(format=1)))
write("bad-name", edit(lambda h: h.update({"a//b": h.pop("dt/float32")})))
