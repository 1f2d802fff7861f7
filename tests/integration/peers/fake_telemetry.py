"""A stand-in for a gateway's DPDK telemetry v2 socket, for tests of the
clients (sluicectl, sluice-exporter) in cases a real gateway cannot be put
in on demand: commands that have not landed yet, a gateway that vanishes
mid-session, a socket that is not DPDK's. It speaks what
lib/telemetry/rte_telemetry does: a JSON hello with max_output_len on
connect, then one JSON reply {"<cmd>": value} per command, null for an
unknown command. Standard library only."""

import json
import os
import socket
import threading


class FakeTelemetry:
    """handlers maps a command ("/sluice/drain") to a value, or to a
    callable(params) returning one; "/" lists the commands."""

    def __init__(self, path, handlers, max_output_len=16384):
        self.path = str(path)
        self.handlers = dict(handlers)
        self.max_len = max_output_len
        self.received = []
        self._stop = False
        self.sock = None
        self.thread = None

    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self._stop = True
        if self.thread is not None:
            self.thread.join(5)
        if self.sock is not None:
            self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def answer(self, cmd):
        base, _, params = cmd.partition(",")
        if base == "/":
            return sorted(set(self.handlers) | {"/", "/help", "/info"})
        h = self.handlers.get(base)
        if callable(h):
            return h(params)
        return h

    def _client(self, conn):
        conn.settimeout(0.5)
        with conn:
            conn.send(json.dumps({"version": "DPDK 22.11 (fake)", "pid": os.getpid(),
                                  "max_output_len": self.max_len}).encode())
            while not self._stop:
                try:
                    data = conn.recv(1024)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                cmd = data.decode()
                self.received.append(cmd)
                out = json.dumps({cmd.partition(",")[0]: self.answer(cmd)})
                conn.send(out.encode()[:self.max_len])
