"""sluice_telemetry: the one client of a Sluice gateway's telemetry socket.

DPDK's telemetry v2 protocol: a Unix SOCK_SEQPACKET socket at
/var/run/dpdk/<file-prefix>/dpdk_telemetry.v2 (root-only); on connect the
gateway sends a JSON greeting with its max_output_len, then answers each
command (one message: "/sluice/pools" or "/sluice/backends,web,1") with one
JSON message {"<command>": value}; value is null for an unknown command or
bad parameters. Sluice's own commands answer {"error": "..."} for a refusal.

sluicectl, sluice-exporter, the integration tests and the benchmarks all
speak it through this module, so its errors read the same everywhere:

    from sluice_telemetry import Telemetry, TelemetryError
    with Telemetry.for_prefix("rte") as tel:
        info = tel.query("/sluice/info")
        pools = tel.get_table("/sluice/pools")

TelemetryError carries `unreachable`: True when no gateway could be reached
or it went away (no socket, permission, timeout, closed mid-command), False
for an answer that cannot be read (not JSON, too big for the buffer).

Standard library only. Run as a script it prints one command's value as
JSON: python3 sluice_telemetry.py [--prefix P | --socket PATH] COMMAND.
"""

import json
import os
import socket
import sys
import time

RUNTIME_DIR = "/var/run/dpdk"
SOCKET_NAME = "dpdk_telemetry.v2"
DEFAULT_MAX_LEN = 16384
# Read replies into a buffer this much larger than the gateway's announced
# limit, so a reply that overflows even that is seen as truncated, not parsed.
SLACK = 4096


class TelemetryError(OSError):
    """A telemetry failure, with a message for the operator. An OSError, as
    the socket errors it replaces were, so a caller waiting for a gateway to
    come up can go on catching OSError."""

    def __init__(self, message, unreachable=True):
        super().__init__(message)
        self.unreachable = unreachable


def socket_path(prefix=None, socket_=None):
    """The socket of a gateway started with --file-prefix `prefix` (default
    $SLUICE_PREFIX, else DPDK's "rte"), unless an explicit path is given."""
    if socket_:
        return str(socket_)
    prefix = prefix or os.environ.get("SLUICE_PREFIX") or "rte"
    return os.path.join(RUNTIME_DIR, prefix, SOCKET_NAME)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def rows_of(d):
    """The entries of a telemetry dict that are dicts themselves: tables
    are dicts keyed by name or number, next to scalar summary fields."""
    if not isinstance(d, dict):
        return {}
    return {k: v for k, v in d.items() if isinstance(v, dict)}


def by_name(rows):
    """Rows keyed by their exact `name` field where the gateway gives one
    (DPDK keys lose characters such as '.' and ':')."""
    return {r["name"] if isinstance(r.get("name"), str) else k: r
            for k, r in rows.items()}


class Telemetry:
    """One connection, kept open for any number of commands (DPDK serves
    them in order). Connects on first use; close() or a with-block ends it.
    DPDK caps the clients of a socket, so a session holds one connection."""

    def __init__(self, path, timeout=5.0):
        self.path = str(path)
        self.timeout = timeout
        self.sock = None
        self.max_len = DEFAULT_MAX_LEN
        self.hello = None
        self._commands = None

    @classmethod
    def for_prefix(cls, prefix=None, timeout=5.0):
        return cls(socket_path(prefix), timeout)

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _connect_waiting(self, s):
        """connect(), waiting out a full listen backlog: DPDK's telemetry
        socket listens with a backlog of 1 and accepts from one thread, so
        while other clients connect, a socket with a timeout (non-blocking
        underneath) gets EAGAIN at once where a blocking one would queue.
        Retried until the timeout, as the blocking connect would wait."""
        end = time.monotonic() + self.timeout
        while True:
            try:
                s.connect(self.path)
                return
            except BlockingIOError:
                if time.monotonic() >= end:
                    raise socket.timeout("listen backlog full")
                time.sleep(0.005)

    def connect(self):
        if self.sock is not None:
            return
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(self.timeout)
        try:
            self._connect_waiting(s)
            hello = s.recv(DEFAULT_MAX_LEN)
        except (FileNotFoundError, ConnectionRefusedError):
            s.close()
            raise TelemetryError(f"no Sluice gateway at {self.path}: "
                                 "is it running? (--prefix?)")
        except PermissionError:
            s.close()
            raise TelemetryError(f"permission denied on {self.path}: the "
                                 "telemetry socket is root-only; run as root")
        except socket.timeout:
            s.close()
            raise TelemetryError(f"no answer from {self.path} within "
                                 f"{self.timeout:g} s")
        except OSError as e:
            s.close()
            raise TelemetryError(f"cannot connect to {self.path}: "
                                 f"{e.strerror or e}")
        if not hello:
            s.close()
            raise TelemetryError(f"the gateway at {self.path} closed the "
                                 "connection at once (too many telemetry "
                                 "clients?)")
        try:
            info = json.loads(hello.decode())
            self.max_len = int(info.get("max_output_len", DEFAULT_MAX_LEN))
        except (ValueError, AttributeError, TypeError):
            s.close()
            raise TelemetryError(f"{self.path} is not a DPDK telemetry v2 "
                                 "socket")
        self.hello = info
        self.sock = s

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def query(self, cmd):
        """The reply's value for cmd: whatever the command answered (a dict,
        a list, a scalar), None when DPDK answered null."""
        self.connect()
        try:
            self.sock.send(cmd.encode())
            data, _, flags, _ = self.sock.recvmsg(self.max_len + SLACK)
        except socket.timeout:
            self.close()
            raise TelemetryError(f"no answer to {cmd} within "
                                 f"{self.timeout:g} s")
        except OSError as e:
            self.close()
            raise TelemetryError(f"lost the gateway at {self.path}: "
                                 f"{e.strerror or e}")
        if not data:
            self.close()
            raise TelemetryError(f"the gateway at {self.path} closed the "
                                 "connection (did it stop?)")
        if flags & socket.MSG_TRUNC:
            # The rest of the message is gone: the connection is still in
            # step (one message per reply), but this answer is lost.
            raise TelemetryError(f"the answer to {cmd} is over the "
                                 f"{self.max_len + SLACK}-byte buffer "
                                 f"(max_output_len {self.max_len})",
                                 unreachable=False)
        try:
            reply = json.loads(data.decode())
        except (ValueError, UnicodeDecodeError):
            raise TelemetryError(f"unreadable answer to {cmd}: {data[:200]!r}",
                                 unreachable=False)
        key = cmd.split(",", 1)[0]
        if isinstance(reply, dict) and key in reply:
            return reply[key]
        return reply

    def commands(self):
        """The commands the process registers ("/" lists them)."""
        if self._commands is None:
            listed = self.query("/")
            self._commands = set(listed) if isinstance(listed, list) else set()
        return self._commands

    def has(self, base):
        return base in self.commands()

    def get_table(self, base, params="", call=None):
        """A table command read whole: page 0, then pages 1 .. pages-1 when
        the gateway pages it (`<base>[,<params>],<page>`). Page 0's fields
        and every page's rows in one dict; page 0's answer as it is when it
        is not a dict. call (default query) reads one page."""
        call = call or self.query
        first = call(f"{base},{params}" if params else base)
        if not isinstance(first, dict):
            return first
        merged = dict(first)
        pages = first.get("pages")
        page = 1
        while is_num(pages) and page < pages:
            more = call(f"{base},{params},{page}" if params else f"{base},{page}")
            merged.update(rows_of(more))
            page += 1
        return merged


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(
        prog="sluice_telemetry.py",
        description="Send one telemetry command to a Sluice gateway and "
        "print its value as JSON.")
    p.add_argument("--prefix", default=None,
                   help="DPDK --file-prefix (default $SLUICE_PREFIX, else rte)")
    p.add_argument("--socket", default=None, metavar="PATH")
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--table", action="store_true",
                   help="follow the command's pages")
    p.add_argument("cmd")
    args = p.parse_args(argv)
    try:
        with Telemetry(socket_path(args.prefix, args.socket), args.timeout) as tel:
            value = tel.get_table(args.cmd) if args.table else tel.query(args.cmd)
    except TelemetryError as e:
        print(f"sluice_telemetry: {e}", file=sys.stderr)
        return 3 if e.unreachable else 1
    print(json.dumps(value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
