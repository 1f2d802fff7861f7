"""A strict parser of the Prometheus text exposition format 0.0.4, for the
exporter tests (promtool checks too, when Debian's prometheus package is
installed; this one also holds the conventions we promise).

parse(text) returns {family: Family} or raises PromTextError naming the
line. Besides the format itself it insists on:
  - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*
    and not starting with __;
  - one HELP and one TYPE per family, TYPE before the family's first sample,
    every family with both (strict);
  - a family's samples together, not interleaved with another family's;
  - counters named *_total; gauges and summaries not;
  - no series twice (same name and labels), no label twice in one sample;
  - label values with only the \\\\, \\" and \\n escapes;
  - summaries: a quantile label in [0, 1] on the base name only;
    histograms: le on _bucket, a +Inf bucket, cumulative counts;
  - the text ends with a newline.
Standard library only."""

import math
import re

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PromTextError(ValueError):
    pass


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []          # (sample name, {label: value}, float)

    def value(self, **labels):
        """The value of the base-name sample with exactly these labels."""
        for n, lab, v in self.samples:
            if n == self.name and lab == {k: str(x) for k, x in labels.items()}:
                return v
        raise KeyError(f"{self.name}{labels}")

    def select(self, **labels):
        """Samples whose labels include these."""
        want = {k: str(v) for k, v in labels.items()}
        return [(n, lab, v) for n, lab, v in self.samples
                if all(lab.get(k) == x for k, x in want.items())]


def _unescape_help(s, where):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 >= len(s):
                raise PromTextError(f"{where}: dangling backslash in HELP")
            n = s[i + 1]
            if n == "\\":
                out.append("\\")
            elif n == "n":
                out.append("\n")
            else:
                # 0.0.4 passes other escapes through as they are.
                out.append("\\" + n)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_labels(s, i, where):
    """Parse {a="x",b="y"} starting at s[i] == '{'; return (labels, next i)."""
    labels = {}
    i += 1
    while True:
        while i < len(s) and s[i] in " \t":
            i += 1
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = re.match(r"[a-zA-Z_][a-zA-Z0-9_]*", s[i:])
        if not m:
            raise PromTextError(f"{where}: bad label name at {s[i:i + 20]!r}")
        name = m.group(0)
        if name.startswith("__"):
            raise PromTextError(f"{where}: label {name} is reserved (__)")
        if name in labels:
            raise PromTextError(f"{where}: label {name} twice")
        i += len(name)
        while i < len(s) and s[i] in " \t":
            i += 1
        if i >= len(s) or s[i] != "=":
            raise PromTextError(f"{where}: '=' expected after label {name}")
        i += 1
        while i < len(s) and s[i] in " \t":
            i += 1
        if i >= len(s) or s[i] != '"':
            raise PromTextError(f"{where}: '\"' expected for label {name}")
        i += 1
        val = []
        while True:
            if i >= len(s):
                raise PromTextError(f"{where}: unterminated value of {name}")
            c = s[i]
            if c == "\\":
                n = s[i + 1] if i + 1 < len(s) else ""
                if n == "\\":
                    val.append("\\")
                elif n == '"':
                    val.append('"')
                elif n == "n":
                    val.append("\n")
                else:
                    raise PromTextError(f"{where}: bad escape \\{n} in {name}")
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise PromTextError(f"{where}: raw newline in {name}")
            else:
                val.append(c)
                i += 1
        labels[name] = "".join(val)
        while i < len(s) and s[i] in " \t":
            i += 1
        if i < len(s) and s[i] == ",":
            i += 1
            continue
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        raise PromTextError(f"{where}: ',' or '}}' expected in labels")


def _parse_value(tok, where):
    if tok in ("+Inf", "Inf"):
        return math.inf
    if tok == "-Inf":
        return -math.inf
    if tok == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", tok):
        raise PromTextError(f"{where}: bad value {tok!r}")
    return float(tok)


def _family_of(sample, families):
    """The family a sample name belongs to (histogram/summary suffixes)."""
    if sample in families:
        return sample
    for suf in ("_bucket", "_sum", "_count"):
        if sample.endswith(suf):
            base = sample[:-len(suf)]
            if base in families and families[base].type in ("histogram", "summary"):
                return base
    return sample


def parse(text, strict=True):
    if not text.endswith("\n"):
        raise PromTextError("the exposition must end with a newline")
    families = {}
    order = []              # families in the order their samples appear
    seen = set()
    closed = set()          # families whose sample block has ended
    current = None
    for no, line in enumerate(text.split("\n")[:-1], 1):
        where = f"line {no}"
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    raise PromTextError(f"{where}: bad metric name {name!r}")
                fam = families.setdefault(name, Family(name))
                if name in closed or (current is not None and current != name
                                      and fam.samples):
                    raise PromTextError(f"{where}: {parts[1]} for {name} after "
                                        "its samples")
                if parts[1] == "HELP":
                    if fam.help is not None:
                        raise PromTextError(f"{where}: second HELP for {name}")
                    fam.help = _unescape_help(parts[3] if len(parts) > 3 else "", where)
                else:
                    if fam.type is not None:
                        raise PromTextError(f"{where}: second TYPE for {name}")
                    if fam.samples:
                        raise PromTextError(f"{where}: TYPE for {name} after its samples")
                    t = parts[3].strip() if len(parts) > 3 else ""
                    if t not in TYPES:
                        raise PromTextError(f"{where}: unknown type {t!r}")
                    fam.type = t
            continue                           # any other comment
        m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
        if not m:
            raise PromTextError(f"{where}: bad sample line {line[:60]!r}")
        sname = m.group(0)
        i = len(sname)
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = _parse_labels(line, i, where)
        rest = line[i:].split()
        if not rest or len(rest) > 2 or (i < len(line) and line[i] not in " \t"):
            raise PromTextError(f"{where}: value expected after {sname}")
        value = _parse_value(rest[0], where)
        if len(rest) == 2 and not re.fullmatch(r"-?\d+", rest[1]):
            raise PromTextError(f"{where}: bad timestamp {rest[1]!r}")
        fname = _family_of(sname, families)
        fam = families.setdefault(fname, Family(fname))
        if strict and (fam.type is None or fam.help is None):
            raise PromTextError(f"{where}: sample of {fname} before its HELP and TYPE")
        if fname in closed:
            raise PromTextError(f"{where}: samples of {fname} are not together")
        if current is not None and current != fname:
            closed.add(current)
        current = fname
        if fname not in order:
            order.append(fname)
        key = (sname, tuple(sorted(labels.items())))
        if key in seen:
            raise PromTextError(f"{where}: series {sname}{labels} twice")
        seen.add(key)
        fam.samples.append((sname, labels, value))
    for fam in families.values():
        _check_family(fam, strict)
    return families


def _check_family(fam, strict):
    name, t = fam.name, fam.type or "untyped"
    if strict and (fam.type is None or fam.help is None):
        raise PromTextError(f"{name}: HELP and TYPE required")
    if t == "counter":
        if not name.endswith("_total"):
            raise PromTextError(f"counter {name} must end in _total")
        for n, lab, v in fam.samples:
            if n != name:
                raise PromTextError(f"counter {name} has a sample {n}")
            if v < 0 or math.isnan(v):
                raise PromTextError(f"counter {name}{lab} is {v}")
    elif t in ("gauge", "untyped"):
        if strict and name.endswith("_total"):
            raise PromTextError(f"{t} {name} must not end in _total")
        for n, lab, _ in fam.samples:
            if "quantile" in lab or "le" in lab:
                raise PromTextError(f"{t} {name} has a {'quantile' if 'quantile' in lab else 'le'} label")
    elif t == "summary":
        if name.endswith("_total"):
            raise PromTextError(f"summary {name} must not end in _total")
        for n, lab, v in fam.samples:
            if n == name:
                if "quantile" not in lab:
                    raise PromTextError(f"summary {name}{lab} without quantile")
                q = _parse_value(lab["quantile"], name)
                if not 0 <= q <= 1:
                    raise PromTextError(f"summary {name} quantile {q} outside [0, 1]")
            elif "quantile" in lab:
                raise PromTextError(f"{n} must not carry quantile")
    elif t == "histogram":
        groups = {}
        for n, lab, v in fam.samples:
            if n == name + "_bucket":
                if "le" not in lab:
                    raise PromTextError(f"{n}{lab} without le")
                rest = tuple(sorted((k, x) for k, x in lab.items() if k != "le"))
                groups.setdefault(rest, []).append((_parse_value(lab["le"], n), v))
            elif n not in (name + "_sum", name + "_count"):
                raise PromTextError(f"histogram {name} has a sample {n}")
        for rest, buckets in groups.items():
            buckets.sort()
            if buckets[-1][0] != math.inf:
                raise PromTextError(f"histogram {name}{dict(rest)} has no +Inf bucket")
            counts = [c for _, c in buckets]
            if counts != sorted(counts):
                raise PromTextError(f"histogram {name}{dict(rest)} buckets not cumulative")
