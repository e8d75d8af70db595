#!/usr/bin/env python3
"""A TCP relay that misbehaves on purpose, for the reconnect tests.

    fault_relay.py --target HOST:PORT [--listen HOST:PORT] [fault options]

Listens (default 127.0.0.1, a free port), prints "fault-relay listening PORT"
once ready, and forwards every accepted connection to the target.  Faults hit
the server-to-client direction of the first --faults connections (default 1)
that carry at least N bytes; later connections are relayed untouched, so a
client that reconnects gets the rest:

  --reset-after N    after N bytes, reset both ends (RST to the client)
  --close-after N    after N bytes, close both ends cleanly (FIN: an EOF
                     without end-of-stream)
  --stall-after N    after N bytes, stop forwarding and keep both
                     connections open (--stall-seconds S, default forever)
  --delay-ms D       delay every chunk by D ms (all connections)
  --stamp            prefix log lines with the monotonic clock (benchmarks)
  --refuse-after K   accept K connections, then close the listening socket
                     for --refuse-seconds S (connection refused), then listen
                     again on the same port

Every fault is logged on stderr with the connection number and byte count.
Stops on SIGTERM/SIGINT; stdlib only.
"""
import argparse
import signal
import socket
import struct
import sys
import threading
import time

lock = threading.Lock()
faults_left = 0
conn_no = 0


STAMP = False


def log(msg):
    if STAMP:  # CLOCK_MONOTONIC seconds, comparable with GLib's monotonic time
        msg = f"{time.monotonic():.6f} {msg}"
    sys.stderr.write(f"fault-relay: {msg}\n")
    sys.stderr.flush()


def addr(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def take_fault():
    global faults_left
    with lock:
        if faults_left > 0:
            faults_left -= 1
            return True
        return False


def reset(sock):
    """Aborts the connection with an RST."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Wake the other pump blocked in recv() on this socket (close() alone
        # would not, and the RST would wait for it); SHUT_RD sends nothing.
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def pump_up(client, server):
    """client -> server, untouched."""
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            server.sendall(data)
    except OSError:
        pass
    try:
        server.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def pump_down(n, client, server, args):
    """server -> client, with the faults."""
    sent = 0
    armed = None  # the fault this connection will get, decided when it reaches N
    threshold = args.reset_after or args.close_after or args.stall_after
    try:
        while True:
            want = 65536
            if armed is None and threshold and sent < threshold:
                want = min(want, threshold - sent)
            data = server.recv(want)
            if not data:
                break
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000.0)
            client.sendall(data)
            sent += len(data)
            if armed is None and threshold and sent >= threshold:
                armed = take_fault()
                if not armed:
                    continue
                if args.reset_after:
                    log(f"connection {n}: reset after {sent} bytes")
                    reset(client)
                    reset(server)
                    return
                if args.close_after:
                    log(f"connection {n}: closed after {sent} bytes")
                    for s in (client, server):
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        s.close()
                    return
                log(f"connection {n}: stalled after {sent} bytes")
                end = time.monotonic() + args.stall_seconds if args.stall_seconds else None
                # Hold both sockets without reading until the client gives up.
                client.settimeout(0.2)
                while end is None or time.monotonic() < end:
                    try:
                        if client.recv(65536) == b"":
                            break
                    except socket.timeout:
                        continue
                    except OSError:
                        break
                log(f"connection {n}: stall over")
                reset(client)
                reset(server)
                return
    except OSError:
        pass
    try:
        client.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(conn, args):
    global conn_no
    with lock:
        conn_no += 1
        n = conn_no
    try:
        upstream = socket.create_connection(addr(args.target), timeout=10)
        upstream.settimeout(None)
    except OSError as e:
        log(f"connection {n}: target unreachable: {e}")
        reset(conn)
        return
    for s in (conn, upstream):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    up = threading.Thread(target=pump_up, args=(conn, upstream), daemon=True)
    up.start()
    pump_down(n, conn, upstream, args)
    up.join(timeout=1)
    for s in (conn, upstream):
        try:
            s.close()
        except OSError:
            pass


def listen(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    return srv


def main():
    global faults_left
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", required=True)
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--faults", type=int, default=1)
    p.add_argument("--reset-after", type=int, default=0)
    p.add_argument("--close-after", type=int, default=0)
    p.add_argument("--stall-after", type=int, default=0)
    p.add_argument("--stall-seconds", type=float, default=0)
    p.add_argument("--delay-ms", type=float, default=0)
    p.add_argument("--refuse-after", type=int, default=0)
    p.add_argument("--refuse-seconds", type=float, default=2)
    p.add_argument("--stamp", action="store_true", help="prefix log lines with monotonic time")
    args = p.parse_args()
    global STAMP
    STAMP = args.stamp
    faults_left = args.faults
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, port = addr(args.listen)
    srv = listen(host, port)
    port = srv.getsockname()[1]
    print(f"fault-relay listening {port}", flush=True)
    accepted = 0
    while True:
        conn, _ = srv.accept()
        accepted += 1
        threading.Thread(target=serve, args=(conn, args), daemon=True).start()
        if args.refuse_after and accepted == args.refuse_after:
            srv.close()
            log(f"refusing connections for {args.refuse_seconds} s")
            time.sleep(args.refuse_seconds)
            srv = listen(host, port)
            log("listening again")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
