"""Python values as typed attributes and groups, without pickling.

The convention (format-spec/FORMAT.md, training-state profile, "Python
values") that h5ckpt.torch writes and the analysis reader decodes:

- ``bool``, ``int`` (int64), ``float`` (float64) and ``str`` are scalar
  attributes of those types; a non-empty list whose elements are all of one
  of these types is a 1-D attribute array.
- What that plain mapping cannot say is written down in a *tag*: a string
  attribute ``py:<key>`` beside the value on the same group, one of
  ``None`` (the value is None; no other object), ``tuple`` (the attribute
  array or group is a tuple), ``list`` (a list stored as a group),
  ``dict`` (an empty dict; no other object), ``dict[int]`` (the group's
  keys are integers written in decimal), ``numpy`` (the tensor is a numpy
  array).
- Other lists and tuples (mixed element types, None, nested containers,
  tensors) are groups whose members are named ``0``, ``1``, ... and tagged
  ``list`` or ``tuple``; empty ones are tag-only.
- Dicts are groups.  Keys are strings (or all integers: ``dict[int]``);
  ``/`` in a key is a path separator; keys starting with ``py:`` are
  reserved.
So a loaded value compares equal to the saved one, types included (numpy
scalars become the Python scalars they equal).
"""
import numbers

TAG = "py:"
NONE, TUPLE, LIST, DICT, INTDICT, NUMPY = ("None", "tuple", "list", "dict",
                                           "dict[int]", "numpy")
TAGS = (NONE, TUPLE, LIST, DICT, INTDICT, NUMPY)


def scalar_kind(v):
    """'bool', 'int', 'float', 'str' for a scalar attribute value, else None."""
    import numpy as np
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (numbers.Integral, np.integer)):
        return "int"
    if isinstance(v, (float, np.floating)):
        return "float"
    if isinstance(v, str):
        return "str"
    return None


def plain(v, kind):
    """The Python scalar a stored value loads as."""
    return {"bool": bool, "int": int, "float": float, "str": str}[kind](v)


def array_kind(seq):
    """The common scalar kind of a non-empty sequence, else None."""
    if not seq:
        return None
    kinds = {scalar_kind(v) for v in seq}
    if len(kinds) == 1:
        (k,) = kinds
        return k
    return None


def check_key(key, where):
    if isinstance(key, bool) or not isinstance(key, (str, numbers.Integral)):
        raise TypeError("%s: keys must be str (or all int), not %s"
                        % (where or "/", type(key).__name__))
    if isinstance(key, str):
        if not key:
            raise ValueError("%s: empty key" % (where or "/"))
        if key.startswith(TAG):
            raise ValueError("%s: keys starting with %r are reserved"
                             % (where or "/", TAG))


def join(path, key):
    return "%s/%s" % (path, key) if path else str(key)


def split(path):
    """(parent group, last component) of a path."""
    i = path.rfind("/")
    return (path[:i], path[i + 1:]) if i >= 0 else ("", path)


def dict_keys_kind(d, where):
    """'str' or 'int' for the keys of a dict (mixed keys are an error)."""
    kinds = set()
    for k in d:
        check_key(k, where)
        kinds.add("int" if isinstance(k, numbers.Integral) else "str")
    if len(kinds) > 1:
        raise TypeError("%s: a dict mixes str and int keys" % (where or "/"))
    return kinds.pop() if kinds else "str"


def decode_group(attrs, children, make_child):
    """Build the Python value of a group from its decoded attributes (name ->
    value), its children (name -> object: a tensor or a subgroup) and a
    function decoding a child (name, object, tag) -> value."""
    tags = {k[len(TAG):]: v for k, v in attrs.items() if k.startswith(TAG)}
    out = {}
    for k, v in attrs.items():
        if k.startswith(TAG):
            continue
        if tags.get(k) == TUPLE and isinstance(v, list):
            v = tuple(v)
        out[k] = v
    for k, obj in children.items():
        out[k] = make_child(k, obj, tags.get(k))
    for k, tag in tags.items():
        if k in out:
            continue
        out[k] = {NONE: None, TUPLE: (), LIST: [], DICT: {}, INTDICT: {}}.get(tag)
    return out


def as_sequence(d, tag):
    """A decoded group tagged list/tuple: members 0..n-1 in order."""
    items = [d[k] for k in sorted(d, key=int)]
    return tuple(items) if tag == TUPLE else items


def as_intdict(d):
    return {int(k): v for k, v in d.items()}
