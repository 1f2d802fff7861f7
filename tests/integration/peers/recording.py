"""Backends that record every request their own parser read, for the
differential smuggling test: a Python origin (http.server), nginx and
HAProxy, each started in sl-backend with its own config in a temp dir and
stopped by the caller (stop() ends only the processes started here).

records() gives each backend's requests, in the order it read them, in one
shape whatever the backend:

  {"kind": "complete" | "rejected" | "aborted", "method", "target",
   "version", "fields": [[lower-case name, value]] or None, "body": bytes or
   None, "port": the port the backend received it on, "why": str or None}

complete: read whole (head and body by the backend's framing); rejected:
the backend's parser refused it; aborted: the connection ended before the
request did. nginx and HAProxy forward what they accepted to the recording
origin (record_origin.py) behind them, whose record gives the fields and
body as they framed them; their own access logs give every request they
read, refused ones too. Standard library only.
"""

import json
from pathlib import Path

from harness.sluice_env import BACKEND_NS, PY, in_ns, ns_popen, read_line, stop_proc, wait_until

PEERS = Path(__file__).resolve().parent
ORIGIN = PEERS / "record_origin.py"

# Fields the peers add on their way to the recording origin, not part of
# what the gateway sent.
PEER_FIELDS = {"x-haproxy-id", "x-haproxy-port", "x-nginx-id", "x-nginx-port"}


def _listening(addrs):
    out = in_ns(BACKEND_NS, "ss", "-ltnH", check=False).stdout
    return all(a in out for a in addrs)


def _split_line(line):
    """'GET /x HTTP/1.1' -> (method, target, version); None parts if odd."""
    parts = line.split(" ")
    if len(parts) < 3:
        return (parts[0] or None) if parts else None, None, None
    return parts[0], " ".join(parts[1:-1]), parts[-1]


def _origin_record(rec, port=None):
    fields = None
    if rec.get("headers") is not None:
        fields = [[k.lower(), v] for k, v in rec["headers"]
                  if k.lower() not in PEER_FIELDS]
    return {"kind": rec["kind"], "method": rec.get("method"),
            "target": rec.get("target"), "version": rec.get("version"),
            "fields": fields,
            "body": bytes.fromhex(rec["body"]) if "body" in rec else None,
            "port": port if port is not None else rec["port"],
            "why": rec.get("why")}


def _read_jsonl(path):
    out = []
    try:
        text = Path(path).read_bytes().decode("latin-1")
    except OSError:
        return out
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


class Origin:
    """record_origin.py on the given ADDR:PORT listens, one log."""

    def __init__(self, workdir, listens):
        self.log = Path(workdir) / "origin.jsonl"
        self.listens = listens
        self.proc = None

    def start(self):
        cmd = [PY, str(ORIGIN), "--log", str(self.log), "--lifetime", "900"]
        for a in self.listens:
            cmd += ["--listen", a]
        self.proc = ns_popen(BACKEND_NS, *cmd)
        line = read_line(self.proc, 15)
        if (line or "").strip() != "ready":
            _, o, e = stop_proc(self.proc)
            raise RuntimeError(f"record_origin did not start: {line!r} {o} {e}")

    def records(self):
        return _read_jsonl(self.log)

    def stop(self):
        if self.proc is not None:
            stop_proc(self.proc)


class PythonPeer:
    """The recording origin itself as the backend."""

    name = "python"

    def __init__(self, workdir, addr, ports):
        self.origin = Origin(workdir, [f"{addr}:{p}" for p in ports])

    def start(self):
        self.origin.start()
        return self

    def records(self):
        return [_origin_record(r) for r in self.origin.records()]

    def stop(self):
        self.origin.stop()


class NginxPeer:
    name = "nginx"

    def __init__(self, workdir, addr, ports, origin_port):
        self.dir = Path(workdir)
        self.addr, self.ports = addr, ports
        self.origin_addr = f"127.0.0.1:{origin_port}"
        self.origin = Origin(self.dir, [self.origin_addr])
        self.proc = None

    def start(self):
        self.origin.start()
        conf = (PEERS / "nginx_record.conf").read_text()
        listen = "\n".join(f"    listen {self.addr}:{p};" for p in self.ports)
        conf = (conf.replace("@DIR@", str(self.dir)).replace("@LISTEN@", listen)
                .replace("@ORIGIN@", self.origin_addr))
        (self.dir / "nginx.conf").write_text(conf)
        self.proc = ns_popen(BACKEND_NS, "nginx", "-c", str(self.dir / "nginx.conf"),
                             "-p", str(self.dir))
        if not wait_until(lambda: _listening([f"{self.addr}:{p}" for p in self.ports]), 10):
            _, o, e = stop_proc(self.proc)
            raise RuntimeError(f"nginx did not start: {o} {e}")
        return self

    def records(self):
        by_id = {}
        for r in self.origin.records():
            nid = dict((k.lower(), v) for k, v in r.get("headers") or []).get("x-nginx-id")
            if nid:
                by_id[nid] = r
        out = []
        for e in _read_jsonl(self.dir / "access.log"):
            method, target, version = _split_line(e["request"])
            port = int(e["port"])
            o = by_id.get(e["id"])
            if o is not None:
                rec = _origin_record(o, port)
                if e["status"] != "200":
                    rec["kind"] = "rejected" if rec["kind"] == "complete" else rec["kind"]
                    rec["why"] = f"nginx status {e['status']}"
            else:
                # nginx answered itself: a refusal it could send, or the
                # connection gone mid-request (nothing sent: 400/499).
                aborted = e["sent"] == "0"
                rec = {"kind": "aborted" if aborted else "rejected",
                       "fields": None, "body": None, "port": port,
                       "why": f"nginx status {e['status']}, sent {e['sent']}"}
            # What nginx itself read, not what it forwarded (origin-form).
            rec.update(method=method, target=target, version=version)
            out.append(rec)
        return out

    def stop(self):
        if self.proc is not None:
            stop_proc(self.proc)
        self.origin.stop()


class HaproxyPeer:
    name = "haproxy"

    def __init__(self, workdir, addr, ports, origin_port):
        self.dir = Path(workdir)
        self.addr, self.ports = addr, ports
        self.origin_addr = f"127.0.0.1:{origin_port}"
        self.origin = Origin(self.dir, [self.origin_addr])
        self.log = self.dir / "haproxy.log"
        self.proc = None

    def start(self):
        self.origin.start()
        cfg = (PEERS / "haproxy_record.cfg").read_text()
        bind = "\n".join(f"  bind {self.addr}:{p}" for p in self.ports)
        cfg = cfg.replace("@BIND@", bind).replace("@ORIGIN@", self.origin_addr)
        (self.dir / "haproxy.cfg").write_text(cfg)
        self._out = open(self.log, "w")
        self.proc = ns_popen(BACKEND_NS, "haproxy", "-db", "-f",
                             str(self.dir / "haproxy.cfg"), stdout=self._out)
        if not wait_until(lambda: _listening([f"{self.addr}:{p}" for p in self.ports]), 10):
            _, o, e = stop_proc(self.proc)
            raise RuntimeError(f"haproxy did not start: {o} {e}")
        return self

    def records(self):
        by_id = {}
        for r in self.origin.records():
            hid = dict((k.lower(), v) for k, v in r.get("headers") or []).get("x-haproxy-id")
            if hid:
                by_id[hid] = r
        out = []
        for line in self.log.read_bytes().decode("latin-1").splitlines():
            # REC <id> <status> <termination state> <frontend port> "<line>"
            parts = line.split(" ", 5)
            if len(parts) < 6 or parts[0] != "REC":
                continue
            hid, status, ts, port = parts[1], parts[2], parts[3], int(parts[4])
            method, target, version = _split_line(parts[5].strip().strip('"'))
            o = by_id.get(hid)
            if o is not None:
                rec = _origin_record(o, port)
            else:
                # Not forwarded: refused by HAProxy (P/R...), or the client
                # side went away first (C...).
                rec = {"kind": "aborted" if ts.startswith("C") else "rejected",
                       "fields": None, "body": None, "port": port,
                       "why": f"haproxy status {status}, termination {ts}"}
            if target is not None and not target.startswith("<BADREQ"):
                rec.update(method=method, target=target, version=version)
            else:
                rec.update(method=None, target=None, version=None)
            out.append(rec)
        return out

    def stop(self):
        if self.proc is not None:
            stop_proc(self.proc)
            self._out.close()
        self.origin.stop()

