#!/usr/bin/env python3
"""Record ARP frames seen on an interface for a bounded time.

usage: sniff_arp.py IFACE SECONDS   (run inside the namespace)
Prints one JSON object per ARP frame: op, sha, sip, tha, tip.
"""
import json
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806


def main():
    iface, seconds = sys.argv[1], float(sys.argv[2])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    s.bind((iface, 0))
    s.settimeout(0.2)
    print("ready", flush=True)
    end = time.time() + seconds
    while time.time() < end:
        try:
            frame = s.recv(2048)
        except socket.timeout:
            continue
        if len(frame) < 42:
            continue
        op, = struct.unpack("!H", frame[20:22])
        mac = lambda b: ":".join(f"{x:02x}" for x in b)
        print(json.dumps({"op": op, "sha": mac(frame[22:28]),
                          "sip": socket.inet_ntoa(frame[28:32]),
                          "tha": mac(frame[32:38]),
                          "tip": socket.inet_ntoa(frame[38:42])}), flush=True)


if __name__ == "__main__":
    main()
