#!/usr/bin/env python3
"""A TCP relay that misbehaves on purpose, for the reconnect tests; with
--udp it also relays (and damages) the UDP data of MMS/UDP and RTSP/UDP.

    fault_relay.py --target HOST:PORT [--listen HOST:PORT] [fault options]

Listens (default 127.0.0.1, a free port), prints "fault-relay listening PORT"
once ready, and forwards every accepted connection to the target.  Faults hit
the server-to-client direction of the first --faults connections (default 1)
that carry at least N bytes (or N datagrams); later connections are relayed
untouched, so a client that reconnects gets the rest:

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

UDP (--udp).  MMS/UDP and RTSP/UDP servers send their datagrams straight to
the port the client announces on the control connection, so a TCP relay never
sees them.  With --udp the relay reads the control connection (recognised by
its first bytes; anything else is relayed untouched) and puts ports of its own
in place of the client's:

  MMS   the LinkViewerToMacConnectFunnel name "\\\\ip\\UDP\\port": the port
        digits become those of a relay port with as many digits, so no length
        changes (MMS messages carry no checksum).  The client sends its resend
        requests (RequestPacketListResend) to the UDP port of the number it
        connected to, the relay's: the relay also listens on UDP on its own
        port number and forwards what arrives there to the target's UDP port
        of the same number (mms-server's MMS UDP socket).
  RTSP  every "client_port=A-B" in a SETUP's Transport becomes a relay pair
        R-(R+1) (one pair per distinct client pair: streams sharing a port
        share the relay's), mapped back to A-B in the reply's Transport.

Datagrams from the server to a relay port go to the client's real port, sent
from the relay's socket: the client checks only their source address, which is
the address it connected to, so the relay must reach the target from the
address it listens on (as on loopback).  Datagrams from the client to a relay
port go to the server's last source address.  Faults on the server-to-client
datagrams, counted per connection (MMS header fragments, media and resent
packets alike):

  --udp-drop-after N       after N datagrams, drop the next --udp-drop-count K
                           (default 1) (first --faults connections)
  --udp-blackout-after N   after N datagrams, drop every one for
                           --udp-blackout-seconds S (default 5) while the
                           control connection stays up (first --faults
                           connections)
  --udp-reorder-every N    hold every Nth datagram and send it after the next
                           one: neighbours swapped (one held without a
                           successor for 0.5 s goes out unswapped; all
                           connections)
  --udp-delay-ms D         delay every datagram by D ms, order kept (all
                           connections)

Every fault is logged on stderr with the connection number and byte or
datagram count; each connection that relayed UDP ends with a summary line
"connection N: udp: D datagrams to the client, ...".  Stops on
SIGTERM/SIGINT; stdlib only.
"""
import argparse
import collections
import random
import re
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


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


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


# --- UDP ----------------------------------------------------------------------

REORDER_HOLD_S = 0.5  # a held datagram without a successor goes out after this
UDP_BUFFER = 4 << 20   # receive buffer of the relay's sockets (the client's is 4 MiB too)


class Delayer:
    """Sends datagrams D ms after they arrived, in arrival order (one thread)."""

    def __init__(self, delay_s):
        self.delay_s = delay_s
        self.queue = collections.deque()
        self.cv = threading.Condition()
        threading.Thread(target=self.run, daemon=True).start()

    def put(self, sock, data, dest):
        with self.cv:
            self.queue.append((time.monotonic() + self.delay_s, sock, data, dest))
            self.cv.notify()

    def run(self):
        while True:
            with self.cv:
                while not self.queue:
                    self.cv.wait()
                due, sock, data, dest = self.queue[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self.cv.wait(wait)
                    continue
                self.queue.popleft()
            send_to(sock, data, dest)


delayer = None


def send_to(sock, data, dest):
    try:
        sock.sendto(data, dest)
    except OSError:
        pass  # ICMP port unreachable, a socket closed meanwhile: the datagram is lost


def bind_udp(host, port=0, digits=0):
    """A UDP socket on host:port; with `digits`, on a free port of that many digits."""
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
    if not digits:
        s.bind((host, port))
        return s
    s.bind((host, 0))
    if len(str(s.getsockname()[1])) == digits:
        return s
    s.close()
    lo, hi = max(1024, 10 ** (digits - 1)), min(65535, 10 ** digits - 1)
    for _ in range(200):
        s = socket.socket(family_of(host), socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER)
        try:
            s.bind((host, random.randint(lo, hi)))
            return s
        except OSError:
            s.close()
    raise OSError(f"no free UDP port of {digits} digits")


def bind_udp_pair(host):
    """Two UDP sockets on consecutive ports R, R+1 (RTP, RTCP)."""
    for _ in range(50):
        a = bind_udp(host)
        try:
            b = bind_udp(host, a.getsockname()[1] + 1)
            return a, b
        except OSError:
            a.close()
    raise OSError("no free UDP port pair")


class RelayPort:
    """One relay UDP port standing for the client port `client_port`."""

    def __init__(self, flow, sock, client_port):
        self.flow = flow
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.client = (flow.client_ip, client_port)
        self.server = None  # where the server sends from (for the client's datagrams)
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        self.sock.settimeout(0.05)
        while not self.flow.closed:
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                self.flow.release_stale()
                continue
            except OSError:
                return
            if src[0] == self.client[0] and src[1] == self.client[1]:
                self.flow.from_client(self, data)
            else:
                self.server = src[:2]
                self.flow.from_server(self, data)


class Flow:
    """The UDP side of one relayed control connection: its relay ports and faults."""

    def __init__(self, n, args, client_ip, bind_ip):
        self.n = n
        self.args = args
        self.client_ip = client_ip
        self.bind_ip = bind_ip
        self.protocol = None  # "mms", "rtsp" or "other", from the client's first bytes
        self.ports = []
        self.pairs = {}    # RTSP: (client a, b) -> (relay r, r2)
        self.unpairs = {}  # RTSP: (relay r, r2) -> (client a, b)
        self.lock = threading.Lock()
        self.closed = False
        self.count = 0      # datagrams from the server
        self.sent = 0
        self.dropped = 0
        self.blacked = 0
        self.swapped = 0
        self.from_clients = 0
        self.drop = None          # None: not decided; False: no fault; [first, last]
        self.blackout = None      # None: not decided; False: no fault; end time
        self.blackout_logged = False
        self.held = None          # (port, data, number, since)
        self.delay_logged = False

    def used(self):
        return bool(self.ports)

    # Ports ---------------------------------------------------------------
    def mms_port(self, client_port, digits):
        with self.lock:
            for p in self.ports:
                if p.client[1] == client_port:
                    return p.port
            p = RelayPort(self, bind_udp(self.bind_ip, digits=digits), client_port)
            self.ports.append(p)
            return p.port

    def rtsp_pair(self, a, b):
        with self.lock:
            key = (a, b)
            if key not in self.pairs:
                if b is None:
                    p = RelayPort(self, bind_udp(self.bind_ip), a)
                    self.ports.append(p)
                    self.pairs[key] = (p.port, None)
                else:
                    s1, s2 = bind_udp_pair(self.bind_ip)
                    p1, p2 = RelayPort(self, s1, a), RelayPort(self, s2, b)
                    self.ports += [p1, p2]
                    self.pairs[key] = (p1.port, p2.port)
                self.unpairs[self.pairs[key]] = key
            return self.pairs[key]

    # Datagrams -----------------------------------------------------------
    def from_client(self, port, data):
        with self.lock:
            self.from_clients += 1
            if self.blackout and time.monotonic() < self.blackout:
                return
        if port.server is not None:
            send_to(port.sock, data, port.server)

    def emit(self, port, data):
        self.sent += 1
        if delayer is not None:
            if not self.delay_logged:
                self.delay_logged = True
                log(f"connection {self.n}: udp: delaying every datagram by {self.args.udp_delay_ms:g} ms")
            delayer.put(port.sock, data, port.client)
        else:
            send_to(port.sock, data, port.client)

    def from_server(self, port, data):
        a = self.args
        with self.lock:
            if self.closed:
                return
            self.count += 1
            n = self.count
            now = time.monotonic()
            if a.udp_blackout_after and self.blackout is None and n > a.udp_blackout_after:
                if take_fault():
                    self.blackout = now + a.udp_blackout_seconds
                    log(f"connection {self.n}: udp: blackout after {n - 1} datagrams "
                        f"for {a.udp_blackout_seconds:g} s")
                else:
                    self.blackout = False
            if self.blackout:
                if now < self.blackout:
                    self.blacked += 1
                    return
                if not self.blackout_logged:
                    self.blackout_logged = True
                    log(f"connection {self.n}: udp: blackout over after {self.blacked} datagrams dropped")
            if a.udp_drop_after and self.drop is None and n > a.udp_drop_after:
                self.drop = [n, n + a.udp_drop_count - 1] if take_fault() else False
            if self.drop and self.drop[0] <= n <= self.drop[1]:
                self.dropped += 1
                if n == self.drop[1]:
                    log(f"connection {self.n}: udp: dropped {a.udp_drop_count} datagrams "
                        f"after {self.drop[0] - 1} (datagrams {self.drop[0]}-{n})")
                return
            if a.udp_reorder_every and self.held is None and n % a.udp_reorder_every == 0:
                self.held = (port, data, n, now)
                return
            self.emit(port, data)
            if self.held is not None:
                hport, hdata, hn, _ = self.held
                self.held = None
                self.emit(hport, hdata)
                self.swapped += 1
                log(f"connection {self.n}: udp: swapped datagrams {hn} and {n}")

    def release_stale(self):
        with self.lock:
            if self.held is not None and time.monotonic() - self.held[3] >= REORDER_HOLD_S:
                hport, hdata, _, _ = self.held
                self.held = None
                self.emit(hport, hdata)

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
            if self.held is not None:
                self.emit(self.held[0], self.held[1])
                self.held = None
            if self.ports:
                extra = ""
                if self.blackout:
                    extra = f", {self.blacked} lost in the blackout"
                log(f"connection {self.n}: udp: {self.sent} datagrams to the client "
                    f"({self.count} from the server, {self.dropped} dropped, "
                    f"{self.swapped} swapped{extra}), {self.from_clients} from the client")
        for p in self.ports:
            try:
                p.sock.close()
            except OSError:
                pass


def control_udp(sock, target):
    """The relay's own UDP port (MMS resend requests): to the target's UDP port."""
    k = 0
    while True:
        try:
            data, src = sock.recvfrom(65536)
        except OSError:
            return
        k += 1
        log(f"udp: datagram {k} from {src[0]}:{src[1]} to the server's port {target[1]} "
            f"({len(data)} bytes)")
        send_to(sock, data, target)


# Control-connection rewriting (client -> server and back) ---------------------

MMS_SIGNATURE = b"\xce\xfa\x0b\xb0"
MID_CONNECT_FUNNEL = 0x00030002
FUNNEL_NAME_AT = 32 + 8 + 20  # TcpMessageHeader, chunkLen + MID, five u32 fields
FUNNEL_UDP = re.compile(r"^(\\\\[^\\]*\\UDP\\)(\d+)$")
RTSP_REQUEST = re.compile(rb"^[A-Z_]+ \S+ RTSP/1\.\d\r?\n")
CLIENT_PORT = re.compile(rb"(client_port=)(\d+)(?:-(\d+))?", re.IGNORECASE)
MAX_HEAD = 65536  # an RTSP head larger than this is relayed untouched


class MmsUp:
    """Client-to-server MMS messages: the UDP funnel's port becomes a relay port."""

    def __init__(self, flow):
        self.flow = flow
        self.buf = b""
        self.raw = False

    def feed(self, data):
        if self.raw:
            return data
        self.buf += data
        out = []
        while len(self.buf) >= 16:
            if self.buf[4:8] != MMS_SIGNATURE:
                self.raw = True  # not a message boundary we know: hands off
                out.append(self.buf)
                self.buf = b""
                break
            total = 16 + struct.unpack_from("<I", self.buf, 8)[0]
            if len(self.buf) < total:
                break
            msg, self.buf = self.buf[:total], self.buf[total:]
            out.append(self.rewrite(msg))
        return b"".join(out)

    def rewrite(self, msg):
        if len(msg) <= FUNNEL_NAME_AT or struct.unpack_from("<I", msg, 36)[0] != MID_CONNECT_FUNNEL:
            return msg
        end = FUNNEL_NAME_AT
        while end + 1 < len(msg) and msg[end:end + 2] != b"\0\0":
            end += 2
        name = msg[FUNNEL_NAME_AT:end].decode("utf-16-le", "replace")
        m = FUNNEL_UDP.match(name)
        if not m:
            return msg
        digits = m.group(2)
        relay = self.flow.mms_port(int(digits), len(digits))
        new = m.group(1) + str(relay)
        assert len(new) == len(name)
        log(f"connection {self.flow.n}: mms funnel {name} -> {new}")
        return msg[:FUNNEL_NAME_AT] + new.encode("utf-16-le") + msg[end:]


class RtspStream:
    """RTSP messages one way: client_port in Transport headers mapped by `mapper`
    ((a, b) -> (a', b') or None); interleaved frames and bodies untouched."""

    def __init__(self, mapper):
        self.mapper = mapper
        self.buf = b""
        self.body_left = 0

    def feed(self, data):
        self.buf += data
        out = []
        while self.buf:
            if self.body_left:
                take = self.buf[:self.body_left]
                self.body_left -= len(take)
                self.buf = self.buf[len(take):]
                out.append(take)
                continue
            if self.buf[:1] == b"$":
                if len(self.buf) < 4:
                    break
                self.body_left = 4 + struct.unpack_from(">H", self.buf, 2)[0]
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    out.append(self.buf)
                    self.buf = b""
                break
            head, self.buf = self.buf[:end + 4], self.buf[end + 4:]
            m = re.search(rb"^content-length:\s*(\d+)", head, re.IGNORECASE | re.MULTILINE)
            self.body_left = int(m.group(1)) if m else 0
            out.append(self.rewrite(head))
        return b"".join(out)

    def rewrite(self, head):
        lines = head.split(b"\r\n")
        for i, line in enumerate(lines):
            if line.lower().startswith(b"transport:"):
                lines[i] = CLIENT_PORT.sub(self.port_sub, line)
        return b"\r\n".join(lines)

    def port_sub(self, m):
        a = int(m.group(2))
        b = int(m.group(3)) if m.group(3) else None
        got = self.mapper(a, b)
        if got is None:
            return m.group(0)
        text = str(got[0]) + (f"-{got[1]}" if got[1] is not None else "")
        return m.group(1) + text.encode()


def rtsp_up(flow):
    def mapper(a, b):
        r = flow.rtsp_pair(a, b)
        log(f"connection {flow.n}: rtsp client_port={a}{'' if b is None else f'-{b}'} -> "
            f"{r[0]}{'' if r[1] is None else f'-{r[1]}'}")
        return r
    return RtspStream(mapper)


def rtsp_down(flow):
    return RtspStream(lambda a, b: flow.unpairs.get((a, b)))


# --- TCP pumps ------------------------------------------------------------------

def pump_up(client, server, flow=None):
    """client -> server; with a flow (--udp), the control protocol is rewritten."""
    rewriter = None
    first = b""
    try:
        while True:
            data = client.recv(65536)
            if not data:
                break
            if flow is not None and flow.protocol is None:
                first += data
                if len(first) >= 8 and first[4:8] == MMS_SIGNATURE:
                    flow.protocol, rewriter = "mms", MmsUp(flow)
                elif RTSP_REQUEST.match(first):
                    flow.protocol, rewriter = "rtsp", rtsp_up(flow)
                elif b"\n" in first or len(first) >= 8 and not first[:1].isalpha():
                    flow.protocol = "other"
                else:
                    continue  # not enough to tell yet
                data, first = first, b""
            if rewriter is not None:
                data = rewriter.feed(data)
            if data:
                server.sendall(data)
    except OSError:
        pass
    try:
        server.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def pump_down(n, client, server, args, flow=None):
    """server -> client, with the faults (and the RTSP replies mapped back)."""
    sent = 0
    armed = None  # the fault this connection will get, decided when it reaches N
    threshold = args.reset_after or args.close_after or args.stall_after
    rewriter = None
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
            raw = len(data)
            if flow is not None and flow.protocol == "rtsp":
                if rewriter is None:
                    rewriter = rtsp_down(flow)
                data = rewriter.feed(data)
            client.sendall(data)
            sent += raw
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
    flow = None
    if args.udp:
        # The server sends its datagrams to this connection's address.
        flow = Flow(n, args, conn.getpeername()[0], upstream.getsockname()[0])
    up = threading.Thread(target=pump_up, args=(conn, upstream, flow), daemon=True)
    up.start()
    pump_down(n, conn, upstream, args, flow)
    up.join(timeout=1)
    for s in (conn, upstream):
        try:
            s.close()
        except OSError:
            pass
    if flow is not None:
        flow.close()


def listen(host, port):
    srv = socket.socket(family_of(host), socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    return srv


def listen_tcp_udp(host, port):
    """The TCP listener and a UDP socket on the same port number."""
    for _ in range(20 if port == 0 else 1):
        srv = listen(host, port)
        try:
            return srv, bind_udp(host, srv.getsockname()[1])
        except OSError:
            srv.close()
    raise OSError(f"cannot bind UDP next to TCP on {host}:{port}")


def main():
    global faults_left, delayer
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
    p.add_argument("--udp", action="store_true", help="relay MMS/UDP and RTSP/UDP data too")
    p.add_argument("--udp-drop-after", type=int, default=0)
    p.add_argument("--udp-drop-count", type=int, default=1)
    p.add_argument("--udp-blackout-after", type=int, default=0)
    p.add_argument("--udp-blackout-seconds", type=float, default=5)
    p.add_argument("--udp-reorder-every", type=int, default=0)
    p.add_argument("--udp-delay-ms", type=float, default=0)
    args = p.parse_args()
    udp_faults = (args.udp_drop_after or args.udp_blackout_after or args.udp_reorder_every or
                  args.udp_delay_ms)
    if udp_faults and not args.udp:
        p.error("the --udp-* faults need --udp")
    if args.udp_reorder_every == 1:
        p.error("--udp-reorder-every wants 2 or more")
    global STAMP
    STAMP = args.stamp
    faults_left = args.faults
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, port = addr(args.listen)
    if args.udp:
        srv, ctl = listen_tcp_udp(host, port)
        thost, tport = addr(args.target)
        threading.Thread(target=control_udp, args=(ctl, (thost, tport)), daemon=True).start()
        if args.udp_delay_ms:
            delayer = Delayer(args.udp_delay_ms / 1000.0)
    else:
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
