"""TensorRT's ONNX parser support per version, for the static check in ``check.py``.

The tables are data: ``trt_support.yaml`` (beside this module) holds the full table of the oldest version and,
for each later one, what it adds, removes or changes, each entry next to the documentation it is transcribed
from.  ``load`` expands them into one full ``Table`` per version and refuses a damaged file in one line
(``TableError``); the module-level dicts below (one per field, keyed by version) are what ``check.py`` reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from ..core.errors import SnnDeployError

DATA_FILE = "trt_support.yaml"

# The type names of the operators.md "Supported Types" column and header line.  DOUBLE appears in the header
# only (TensorRT casts it down to FLOAT): no per-op row lists it.
DOC_DTYPES = ("DOUBLE", "FP32", "FP16", "BF16", "FP8", "FP4", "INT4", "INT8", "INT32", "INT64", "UINT8", "BOOL")


class TableError(SnnDeployError):
    """The support tables are damaged: a field missing or of the wrong kind, or a delta that does not fit its
    base (adds what the base has, removes or changes what it lacks)."""


@dataclass(frozen=True)
class Table:
    """What one TensorRT version's ONNX parser is documented to take; the fields are described at the top of
    ``trt_support.yaml``."""

    ops: frozenset[str]
    documented_unsupported: frozenset[str]
    op_dtypes: dict[str, frozenset[str]]
    graph_dtypes: frozenset[str]
    int64_cast_to_int32: bool
    min_opset: int
    max_opset: int
    local_functions: bool
    constant_inputs: dict[str, tuple[int, ...]]
    tensor_inputs: dict[str, tuple[int, ...]]
    ignored_attributes: dict[str, dict[str, int | None]]
    ignored_inputs: dict[str, tuple[int, ...]]
    qdq_zero_point_required: bool
    qdq_blocked_scales: bool
    max_rank: int
    rank_limits: dict[str, tuple[int, int]]


# --- parsing one raw YAML value; each raises _Bad with what is wrong, which load() prefixes with where ---------

class _Bad(Exception):
    pass


def _names(raw: Any, allowed: tuple[str, ...] | None = None) -> frozenset[str]:
    """A list of distinct non-empty strings (from ``allowed`` where given)."""
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise _Bad(f"expected a list of names, got {raw!r}")
    if len(set(raw)) != len(raw):
        raise _Bad(f"names repeated in {raw!r}")
    unknown = [x for x in raw if allowed is not None and x not in allowed]
    if unknown:
        raise _Bad(f"unknown data type(s) {', '.join(unknown)} (known: {', '.join(allowed or ())})")
    return frozenset(raw)


def _dtypes(raw: Any) -> frozenset[str]:
    return _names(raw, DOC_DTYPES[1:])  # no per-op row lists DOUBLE


def _graph_dtypes(raw: Any) -> frozenset[str]:
    return _names(raw, DOC_DTYPES)


def _indices(raw: Any) -> tuple[int, ...]:
    """A non-empty list of distinct input indices."""
    if not isinstance(raw, list) or not raw or not all(type(x) is int and x >= 0 for x in raw) \
            or len(set(raw)) != len(raw):
        raise _Bad(f"expected a list of distinct input indices (integers >= 0), got {raw!r}")
    return tuple(raw)


def _rank_range(raw: Any) -> tuple[int, int]:
    if not isinstance(raw, list) or len(raw) != 2 or not all(type(x) is int for x in raw) \
            or not 0 <= raw[0] <= raw[1]:
        raise _Bad(f"expected [min rank, max rank] with 0 <= min <= max, got {raw!r}")
    return raw[0], raw[1]


def _defaults(raw: Any) -> dict[str, int | None]:
    """Attribute name -> its ONNX default (an integer, or null where it has none)."""
    if not isinstance(raw, dict) or not raw or not all(isinstance(k, str) and (v is None or type(v) is int)
                                                       for k, v in raw.items()):
        raise _Bad(f"expected {{attribute: its default (an integer or null)}}, got {raw!r}")
    return dict(raw)


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _Bad(f"expected true or false, got {raw!r}")
    return raw


def _count(raw: Any) -> int:
    if type(raw) is not int or raw < 1:
        raise _Bad(f"expected a positive integer, got {raw!r}")
    return raw


# field -> (kind, parser of one element): "set" fields are sets of names, "map" fields map an op to a value (the
# parser's), "value" fields are one value
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "ops": ("set", _names),
    "documented_unsupported": ("set", _names),
    "op_dtypes": ("map", _dtypes),
    "graph_dtypes": ("set", _graph_dtypes),
    "int64_cast_to_int32": ("value", _flag),
    "min_opset": ("value", _count),
    "max_opset": ("value", _count),
    "local_functions": ("value", _flag),
    "constant_inputs": ("map", _indices),
    "tensor_inputs": ("map", _indices),
    "ignored_attributes": ("map", _defaults),
    "ignored_inputs": ("map", _indices),
    "qdq_zero_point_required": ("value", _flag),
    "qdq_blocked_scales": ("value", _flag),
    "max_rank": ("value", _count),
    "rank_limits": ("map", _rank_range),
}
assert list(_FIELDS) == [f.name for f in dataclasses.fields(Table)]


def _mapping(raw: Any, what: str) -> dict[Any, Any]:
    if not isinstance(raw, dict):
        raise _Bad(f"expected {what}, got {raw!r}")
    return raw


def _keys(raw: Any, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
    """A mapping whose keys are some of ``allowed`` (at least one)."""
    raw = _mapping(raw, what)
    unknown = [k for k in raw if k not in allowed]
    if unknown or not raw:
        raise _Bad(f"expected {what}, got {'keys ' + ', '.join(map(repr, unknown)) if unknown else 'none'}")
    return raw


def _full(kind: str, parse: Callable[[Any], Any], raw: Any) -> Any:
    """The value of a field of the base table."""
    if kind == "map":
        return {_op(k): _at(k, parse, v) for k, v in _mapping(raw, "a mapping of op -> value").items()}
    return parse(raw)


def _op(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise _Bad(f"op names must be strings, got {key!r}")
    return key


def _at(key: str, parse: Callable[[Any], Any], raw: Any) -> Any:
    try:
        return parse(raw)
    except _Bad as exc:
        raise _Bad(f"{key}: {exc}") from None


def _delta(kind: str, parse: Callable[[Any], Any], base: Any, raw: Any, base_name: str) -> Any:
    """A field's value after ``raw`` (a delta on ``base``, the value of version ``base_name``)."""
    if kind == "value":
        value = parse(raw)
        if value == base:
            raise _Bad(f"sets {value!r}, which {base_name} already has")
        return value
    if kind == "set":
        d = _keys(raw, ("add", "remove"), "{add: [...], remove: [...]}")
        add, remove = parse(d.get("add", [])), _names(d.get("remove", []))
        if add & base:
            raise _Bad(f"adds {', '.join(sorted(add & base))}, which {base_name} already has")
        if remove - base:
            raise _Bad(f"removes {', '.join(sorted(remove - base))}, which {base_name} lacks")
        return (base - remove) | add
    d = _keys(raw, ("add", "change", "remove"), "{add: {...}, change: {...}, remove: [...]}")
    add = {_op(k): _at(k, parse, v) for k, v in _mapping(d.get("add", {}), "add: {op: value}").items()}
    change = {_op(k): _at(k, parse, v) for k, v in _mapping(d.get("change", {}), "change: {op: value}").items()}
    remove = _names(d.get("remove", []))
    if set(add) & set(base):
        raise _Bad(f"adds {', '.join(sorted(set(add) & set(base)))}, which {base_name} already has")
    for what, keys in (("changes", set(change)), ("removes", remove)):
        if keys - set(base):
            raise _Bad(f"{what} {', '.join(sorted(keys - set(base)))}, which {base_name} lacks")
    if set(change) & remove:
        raise _Bad(f"both changes and removes {', '.join(sorted(set(change) & remove))}")
    same = sorted(k for k, v in change.items() if v == base[k])
    if same:
        raise _Bad(f"changes {', '.join(same)} to the value {base_name} already has")
    return {k: change.get(k, v) for k, v in base.items() if k not in remove} | add


def _check(t: Table) -> None:
    """What every full table must satisfy."""
    both = t.ops & t.documented_unsupported
    if both:
        raise _Bad(f"{', '.join(sorted(both))} both supported and documented as unsupported")
    for field in ("op_dtypes", "constant_inputs", "tensor_inputs", "ignored_attributes", "ignored_inputs",
                  "rank_limits"):
        stray = sorted(set(getattr(t, field)) - t.ops)
        if stray:
            raise _Bad(f"{field}: {', '.join(stray)} not among the supported ops")
    if t.min_opset > t.max_opset:
        raise _Bad(f"min_opset {t.min_opset} > max_opset {t.max_opset}")
    high = sorted(op for op, (_, hi) in t.rank_limits.items() if hi > t.max_rank)
    if high:
        raise _Bad(f"rank_limits: {', '.join(high)} above max_rank {t.max_rank}")


def expand(doc: Any) -> tuple[dict[str, Table], dict[str, str | None]]:
    """The full table of every version (oldest first) and the ONNX -> operators.md type names, from the parsed
    ``trt_support.yaml``; a damaged document raises TableError naming the version and field."""
    where = DATA_FILE
    try:
        doc = _keys(doc, ("onnx_to_doc_dtype", "versions"), "a mapping with onnx_to_doc_dtype and versions")
        if set(doc) != {"onnx_to_doc_dtype", "versions"}:
            raise _Bad("needs both onnx_to_doc_dtype and versions")
        where = f"{DATA_FILE}: onnx_to_doc_dtype"
        names = _mapping(doc["onnx_to_doc_dtype"], "a mapping of ONNX type -> operators.md type (or null)")
        for k, v in names.items():
            if not isinstance(k, str) or (v is not None and v not in DOC_DTYPES):
                raise _Bad(f"{k!r}: {v!r} is not one of {', '.join(DOC_DTYPES)} or null")
        where = f"{DATA_FILE}: versions"
        versions = _mapping(doc["versions"], "a mapping of version -> table")
        if not versions:
            raise _Bad("no versions")
        tables: dict[str, Table] = {}
        for i, (version, raw) in enumerate(versions.items()):
            where = f"{DATA_FILE}: version {version!r}"
            if not isinstance(version, str):
                raise _Bad("version keys must be quoted strings (\"8.6\", not 8.6)")
            raw = _mapping(raw, "a table")
            unknown = sorted(set(raw) - set(_FIELDS) - {"from"})
            if unknown:
                raise _Bad(f"unknown field(s) {', '.join(unknown)}; fields: from, {', '.join(_FIELDS)}")
            values: dict[str, Any] = {}
            if i == 0:
                if "from" in raw or set(raw) != set(_FIELDS):
                    raise _Bad(f"the first version is a full table, without 'from': it needs every field "
                               f"(missing: {', '.join(f for f in _FIELDS if f not in raw) or 'none'})")
                for field, (kind, parse) in _FIELDS.items():
                    where = f"{DATA_FILE}: version {version!r}, {field}"
                    values[field] = _full(kind, parse, raw[field])
            else:
                base_name = raw.get("from")
                if not isinstance(base_name, str) or base_name not in tables:
                    raise _Bad(f"'from' must name an earlier version ({', '.join(map(repr, tables))}), got "
                               f"{base_name!r}")
                base = tables[base_name]
                for field, (kind, parse) in _FIELDS.items():
                    where = f"{DATA_FILE}: version {version!r}, {field}"
                    old = getattr(base, field)
                    values[field] = _delta(kind, parse, old, raw[field], base_name) if field in raw else old
            where = f"{DATA_FILE}: version {version!r}"
            table = Table(**values)
            _check(table)
            tables[version] = table
    except _Bad as exc:
        raise TableError(f"{where}: {exc}") from None
    return tables, dict(names)


def load(text: str | None = None) -> tuple[dict[str, Table], dict[str, str | None]]:
    """``expand`` of ``text``, or of the packaged trt_support.yaml."""
    if text is None:
        text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise TableError(f"{DATA_FILE}: not valid YAML: {' '.join(str(exc).split())}") from None
    return expand(doc)


TABLES, ONNX_TO_DOC_DTYPE = load()

# The keys of every table below, as `--trt` takes them; "10" is the latest 10.x (10.15).
TRT_VERSIONS = tuple(TABLES)

# One dict per field, version -> that version's value (the names check.py reads).
SUPPORTED_OPS: dict[str, frozenset[str]] = {v: t.ops for v, t in TABLES.items()}
DOCUMENTED_UNSUPPORTED: dict[str, frozenset[str]] = {v: t.documented_unsupported for v, t in TABLES.items()}
OP_DTYPES: dict[str, dict[str, frozenset[str]]] = {v: t.op_dtypes for v, t in TABLES.items()}
GRAPH_DTYPES: dict[str, frozenset[str]] = {v: t.graph_dtypes for v, t in TABLES.items()}
INT64_CAST_TO_INT32: dict[str, bool] = {v: t.int64_cast_to_int32 for v, t in TABLES.items()}
MAX_OPSET: dict[str, int] = {v: t.max_opset for v, t in TABLES.items()}
MIN_OPSET: dict[str, int] = {v: t.min_opset for v, t in TABLES.items()}
LOCAL_FUNCTIONS: dict[str, bool] = {v: t.local_functions for v, t in TABLES.items()}
CONSTANT_INPUTS_BY_VERSION: dict[str, dict[str, tuple[int, ...]]] = {v: t.constant_inputs for v, t in TABLES.items()}
TENSOR_INPUTS: dict[str, dict[str, tuple[int, ...]]] = {v: t.tensor_inputs for v, t in TABLES.items()}
IGNORED_ATTRIBUTES: dict[str, dict[str, dict[str, int | None]]] = {v: t.ignored_attributes
                                                                    for v, t in TABLES.items()}
IGNORED_INPUTS: dict[str, dict[str, tuple[int, ...]]] = {v: t.ignored_inputs for v, t in TABLES.items()}
QDQ_ZERO_POINT_REQUIRED: dict[str, bool] = {v: t.qdq_zero_point_required for v, t in TABLES.items()}
QDQ_BLOCKED_SCALES: dict[str, bool] = {v: t.qdq_blocked_scales for v, t in TABLES.items()}
MAX_RANK: dict[str, int] = {v: t.max_rank for v, t in TABLES.items()}
RANK_LIMITS: dict[str, dict[str, tuple[int, int]]] = {v: t.rank_limits for v, t in TABLES.items()}

# The ops whose scale and zero point check.py checks (the Q/DQ notes at the top of trt_support.yaml).
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")

_SHOWN = ", ".join("10 (= 10.15)" if v == "10" else v for v in TRT_VERSIONS)


def normalize_version(v: str) -> str:
    """The key of TRT_VERSIONS whose tables describe TensorRT ``v``.

    A key, optionally with patch and build numbers ("8.6.1", "10.3.0.30"), "10.15" for "10", and
    any 11.x for "11" (one ASSUMED table).  Raises ValueError, in one line, for anything else:
    other 10.x minors ("10.8") differ from both 10.3 and 10.15, so they are not guessed.
    """
    s = v.strip() if isinstance(v, str) else ""
    parts = (s[1:] if s[:1] in ("v", "V") else s).split(".")
    if not all(p.isdigit() for p in parts):
        raise ValueError(f"unrecognised TensorRT version {v!r}; tables: {_SHOWN}")
    nums = [int(p) for p in parts]
    if nums[0] == 11 or nums == [10]:
        return str(nums[0])
    if nums[:2] == [10, 15]:
        return "10"
    key = ".".join(map(str, nums[:2]))
    if len(nums) >= 2 and key in TRT_VERSIONS:
        return key
    raise ValueError(f"no TensorRT ONNX-parser table for version {v!r}; tables: {_SHOWN}")


def is_supported(op_type: str, version: str) -> bool:
    """Whether the docs for `version` mark default-domain `op_type` as supported."""
    return op_type in SUPPORTED_OPS[normalize_version(version)]


def op_dtypes(op_type: str, version: str) -> frozenset[str] | None:
    """Documented data types of `op_type`, or None where the docs list none."""
    return OP_DTYPES[normalize_version(version)].get(op_type)


def constant_inputs(op_type: str, version: str) -> tuple[int, ...]:
    """Input indices of `op_type` that must be initializers/constants on `version`."""
    return CONSTANT_INPUTS_BY_VERSION[normalize_version(version)].get(op_type, ())


def tensor_inputs(op_type: str, version: str) -> tuple[int, ...]:
    """Input indices of `op_type` that must not be initializers/constants on `version`."""
    return TENSOR_INPUTS[normalize_version(version)].get(op_type, ())


def ignored_attributes(op_type: str, version: str) -> dict[str, int | None]:
    """Attributes of `op_type` the `version` parser never reads, with their ONNX defaults (None: none)."""
    return IGNORED_ATTRIBUTES[normalize_version(version)].get(op_type, {})


def ignored_inputs(op_type: str, version: str) -> tuple[int, ...]:
    """Input indices of `op_type` the `version` parser never reads."""
    return IGNORED_INPUTS[normalize_version(version)].get(op_type, ())


def rank_limits(op_type: str, version: str) -> tuple[int, int] | None:
    """(min, max) rank of input 0 of `op_type` on `version`, or None where the docs state none."""
    return RANK_LIMITS[normalize_version(version)].get(op_type)
