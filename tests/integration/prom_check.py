#!/usr/bin/python3
"""prom_check.py: a strict check of Prometheus text (format 0.0.4) as weft
serves it at GET /metrics, for the integration tests.

Two independent readings must agree:
  - the official Python client's parser (prometheus_client.parser, Debian's
    python3-prometheus-client; tools/deps.sh installs it), which is lax: it
    accepts a family written twice or a sample outside its family (as an
    "untyped" singleton), so on its own it would pass broken output;
  - a strict line-by-line reader here, which refuses what the format or
    weft's own rules forbid: a sample before its family's TYPE line, a
    family whose lines are not contiguous, two TYPE or HELP lines for one
    name, bad metric or label names, bad escapes, a value that does not
    parse, a duplicate series, a counter that is not a whole number, a
    family without the weft_ prefix or a counter without _total.

Usage:
  prom_check.py check FILE             exit 0 if FILE passes, else 1 with the reasons
  prom_check.py families FILE          the family names, one per line (sorted)
  prom_check.py value FILE NAME [K=V]  the value of the one sample of NAME with
                                       those labels (exit 1 if none or several)
"""
import math
import re
import sys

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = {"counter", "gauge"}  # all weft writes


class Bad(Exception):
    pass


def parse_value(s):
    if s in ("NaN", "+Inf", "-Inf"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise Bad("value %r does not parse" % s)
    return float(s)


def parse_labels(s, i, where):
    """s[i] == '{': returns (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if s[i] == "}":
            return labels, i + 1
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(s, i)
        if not m:
            raise Bad("%s: bad label name at column %d" % (where, i + 1))
        key = m.group(0)
        if key.startswith("__"):
            raise Bad("%s: reserved label name %s" % (where, key))
        if key in labels:
            raise Bad("%s: label %s twice" % (where, key))
        i = m.end()
        if s[i : i + 2] != '="':
            raise Bad("%s: expected =\" after label %s" % (where, key))
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise Bad("%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                nxt = s[i + 1 : i + 2]
                if nxt not in ("\\", '"', "n"):
                    raise Bad("%s: bad escape \\%s in a label value" % (where, nxt))
                val.append("\n" if nxt == "n" else nxt)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise Bad("%s: raw newline in a label value" % where)
            else:
                val.append(c)
                i += 1
        labels[key] = "".join(val)
        if s[i] == ",":
            i += 1
        elif s[i] != "}":
            raise Bad("%s: expected , or } after a label" % where)


def unescape_help(t, where, name):
    out, i = [], 0
    while i < len(t):
        if t[i] == "\\":
            nxt = t[i + 1 : i + 2]
            if nxt not in ("\\", "n"):
                raise Bad("%s: bad escape in HELP of %s" % (where, name))
            out.append("\n" if nxt == "n" else "\\")
            i += 2
        else:
            out.append(t[i])
            i += 1
    return "".join(out)


def strict(text):
    """Returns {family: (type, help, [(labels, value)])}; raises Bad."""
    if text and not text.endswith("\n"):
        raise Bad("the last line does not end with a newline")
    fams = {}
    order = []
    cur = None
    series = set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % n
        if line == "":
            raise Bad("%s: empty line (weft writes none)" % where)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE"):
                raise Bad("%s: a comment that is neither HELP nor TYPE: %r" % (where, line))
            kind, name = parts[1], parts[2]
            if not NAME_RE.match(name):
                raise Bad("%s: bad metric name %r" % (where, name))
            if name != cur:
                if name in fams:
                    raise Bad("%s: family %s again after other families (not contiguous)" % (where, name))
                fams[name] = {"type": None, "help": None, "samples": []}
                order.append(name)
                cur = name
            f = fams[name]
            if f["samples"]:
                raise Bad("%s: %s line of %s after its samples" % (where, kind, name))
            if kind == "HELP":
                if f["help"] is not None:
                    raise Bad("%s: second HELP for %s" % (where, name))
                if f["type"] is not None:
                    raise Bad("%s: HELP after TYPE for %s" % (where, name))
                f["help"] = unescape_help(parts[3] if len(parts) > 3 else "", where, name)
            else:
                if f["type"] is not None:
                    raise Bad("%s: second TYPE for %s" % (where, name))
                if len(parts) != 4 or parts[3] not in TYPES:
                    raise Bad("%s: bad TYPE line %r" % (where, line))
                f["type"] = parts[3]
            continue
        m = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*").match(line)
        if not m:
            raise Bad("%s: a sample line without a metric name: %r" % (where, line))
        name = m.group(0)
        i = m.end()
        labels = {}
        if i < len(line) and line[i] == "{":
            labels, i = parse_labels(line, i, where)
        if line[i : i + 1] != " ":
            raise Bad("%s: expected one space before the value" % where)
        rest = line[i + 1 :].split(" ")
        if len(rest) != 1:
            raise Bad("%s: a timestamp or extra field (weft writes none): %r" % (where, line))
        value = parse_value(rest[0])
        if name != cur or name not in fams:
            raise Bad("%s: sample of %s outside its family (the open one is %s)" % (where, name, cur))
        f = fams[name]
        if f["type"] is None:
            raise Bad("%s: sample of %s before its TYPE line" % (where, name))
        if f["type"] == "counter":
            if not re.fullmatch(r"\d+", rest[0]):
                raise Bad("%s: counter %s value %r is not a whole number" % (where, name, rest[0]))
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise Bad("%s: series %s%s twice" % (where, name, labels))
        series.add(key)
        f["samples"].append((labels, value))
    for name in order:
        f = fams[name]
        if f["type"] is None:
            raise Bad("family %s has no TYPE line" % name)
        if not name.startswith("weft_"):
            raise Bad("family %s lacks the weft_ prefix" % name)
        if f["type"] == "counter" and not name.endswith("_total"):
            raise Bad("counter %s does not end in _total" % name)
    return fams


def official(text, fams):
    """The prometheus_client parser must read the same families and values."""
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        raise Bad("python3-prometheus-client is not installed (tools/deps.sh installs it)")
    seen = {}
    for mf in text_string_to_metric_families(text):
        # The client names a counter family without its _total suffix.
        name = mf.name + "_total" if mf.type == "counter" else mf.name
        if mf.type not in TYPES:
            raise Bad("prometheus_client read %s as %s (a sample outside its family?)" % (name, mf.type))
        if name in seen:
            raise Bad("prometheus_client read family %s twice" % name)
        seen[name] = mf
    if set(seen) != set(fams):
        raise Bad("prometheus_client read other families: %s" % sorted(set(seen) ^ set(fams)))
    for name, mf in seen.items():
        f = fams[name]
        if mf.type != f["type"]:
            raise Bad("%s: type %s, prometheus_client says %s" % (name, f["type"], mf.type))
        if (f["help"] or "") != mf.documentation:
            raise Bad("%s: HELP %r, prometheus_client says %r" % (name, f["help"], mf.documentation))
        ours = sorted((tuple(sorted(l.items())), v) for l, v in f["samples"])
        theirs = sorted((tuple(sorted(s.labels.items())), s.value) for s in mf.samples)
        same = len(ours) == len(theirs) and all(
            a[0] == b[0] and (a[1] == b[1] or (math.isnan(a[1]) and math.isnan(b[1])))
            for a, b in zip(ours, theirs)
        )
        if not same:
            raise Bad("%s: samples differ: ours %s, prometheus_client %s" % (name, ours, theirs))
        for s in mf.samples:
            if s.name != name:
                raise Bad("%s: prometheus_client saw a sample named %s" % (name, s.name))


def main(argv):
    if len(argv) < 3 or argv[1] not in ("check", "families", "value"):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[2], encoding="utf-8") as fh:
        text = fh.read()
    try:
        fams = strict(text)
        if argv[1] == "check":
            official(text, fams)
            nsamples = sum(len(f["samples"]) for f in fams.values())
            print("ok: %d families, %d samples" % (len(fams), nsamples))
        elif argv[1] == "families":
            print("\n".join(sorted(fams)))
        else:
            name = argv[3]
            want = dict(kv.split("=", 1) for kv in argv[4:])
            if name not in fams:
                raise Bad("no family %s" % name)
            hits = [v for l, v in fams[name]["samples"] if all(l.get(k) == x for k, x in want.items())]
            if len(hits) != 1:
                raise Bad("%d samples of %s match %s" % (len(hits), name, want))
            v = hits[0]
            print(int(v) if math.isfinite(v) and v == int(v) else v)
    except Bad as e:
        print("prom_check: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
