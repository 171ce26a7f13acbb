#!/usr/bin/env python3
"""Records what a live epmd and Erlang node send to a client, for the fuzz seed corpora (see make-corpus.sh).

Writes, under --out: names (epmd's NAMES reply), port-please2 and port-please2-unknown (its PORT_PLEASE2
replies for the node and for a name not registered), handshake (every packet the node sends while we connect
to it with the version 6 handshake, with their 2-byte lengths: status, challenge, acknowledgement) and
handshake-alive (the same with the status the node sends when it still holds a connection under our name).
"""
import argparse
import hashlib
import os
import random
import socket
import struct
import time

# What controlnode announces (DistributionFlags.ours): a hidden node with the OTP 25/26 mandatory flags.
OUR_FLAGS = (0x4 | 0x8 | 0x10 | 0x20 | 0x80 | 0x100 | 0x200 | 0x400 | 0x800 | 0x1000 | 0x4000 | 0x10000
             | 0x20000 | 0x40000 | 0x80000 | 0x100000 | 0x400000 | 0x1000000 | 0x2000000 | (1 << 34) | (1 << 36))


EPMD_PORT = 4369


def epmd(request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", EPMD_PORT), timeout=5) as sock:
        sock.sendall(struct.pack(">H", len(request)) + request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
        return reply


def read_packet(sock: socket.socket) -> bytes:
    header = recv_exactly(sock, 2)
    return header + recv_exactly(sock, struct.unpack(">H", header)[0])


def recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("the node closed the connection")
        data += chunk
    return data


def handshake(port: int, cookie: str) -> bytes:
    name = b"controlnode@localhost"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        message = b"N" + struct.pack(">QIH", OUR_FLAGS, 7, len(name)) + name
        sock.sendall(struct.pack(">H", len(message)) + message)
        status = read_packet(sock)
        challenge = read_packet(sock)
        peer_challenge = struct.unpack(">I", challenge[2 + 9:2 + 13])[0]
        ours = random.getrandbits(32)
        digest = hashlib.md5((cookie + str(peer_challenge)).encode()).digest()
        reply = b"r" + struct.pack(">I", ours) + digest
        sock.sendall(struct.pack(">H", len(reply)) + reply)
        ack = read_packet(sock)
        return status + challenge + ack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epmd-port", type=int, default=4369)
    parser.add_argument("--cookie", required=True)
    parser.add_argument("--alive", required=True)
    parser.add_argument("--out", required=True)
    options = parser.parse_args()
    global EPMD_PORT
    EPMD_PORT = options.epmd_port
    os.makedirs(options.out, exist_ok=True)
    deadline = time.monotonic() + 20
    while options.alive.encode() not in epmd(b"n"):
        if time.monotonic() > deadline:
            raise SystemExit(f"record-peer.py: {options.alive} did not register with epmd")
        time.sleep(0.2)
    files = {
        "names": epmd(b"n"),
        "port-please2": epmd(b"z" + options.alive.encode()),
        "port-please2-unknown": epmd(b"z" + b"nosuchnode"),
    }
    port = struct.unpack(">H", files["port-please2"][2:4])[0]
    transcript = handshake(port, options.cookie)
    files["handshake"] = transcript
    # The status comes first: swap it for "alive", after which our side answers "true" and goes on.
    status_length = 2 + struct.unpack(">H", transcript[:2])[0]
    files["handshake-alive"] = struct.pack(">H", 6) + b"salive" + transcript[status_length:]
    for name, data in files.items():
        with open(os.path.join(options.out, name), "wb") as file:
            file.write(data)


if __name__ == "__main__":
    main()
