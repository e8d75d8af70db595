#!/usr/bin/env python3
"""A small threaded HTTP proxy for the tests: CONNECT tunnels and absolute-URI
GET requests (the request is forwarded in origin form, the reply streamed back
until either side closes), with optional Basic, Digest or NTLM proxy
authentication.

  http_proxy.py --port-file FILE --log FILE [--map NAME=IP ...]
                [--auth basic|digest|ntlm --user U --password P] [--close-on-407]

NTLM is not ours: the proxy's CHALLENGE is built here from MS-NLMP 2.2.1.2,
and the client's AUTHENTICATE is checked with python ntlm-auth's NTLMv2 and
NTLMv1 computations (tests/tools/ntlm_peer.py verify), on the connection
that carried the CHALLENGE.

--map makes NAME resolve, inside the proxy only, to IP (a name under .invalid
cannot be resolved by the client itself, so a client that plays through it did
not bypass the proxy); other .invalid names answer 502. The log gets one line
per request: "METHOD TARGET STATUS". The listening port is written to
--port-file once the proxy accepts connections. Loopback only.
"""
import argparse
import base64
import hashlib
import os
import secrets
import socket
import struct
import sys
import tempfile
import threading
import time

MAX_HEAD = 16 * 1024


def md5(text):
    return hashlib.md5(text.encode()).hexdigest()


def parse_params(value):
    """Digest parameters: name=value or name="value", comma-separated."""
    params = {}
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " ,":
            i += 1
        eq = value.find("=", i)
        if eq < 0:
            break
        name = value[i:eq].strip().lower()
        i = eq + 1
        if i < n and value[i] == '"':
            end = i + 1
            out = []
            while end < n and value[end] != '"':
                if value[end] == "\\" and end + 1 < n:
                    end += 1
                out.append(value[end])
                end += 1
            params[name] = "".join(out)
            i = end + 1
        else:
            end = value.find(",", i)
            end = n if end < 0 else end
            params[name] = value[i:end].strip()
            i = end
    return params


def ntlm_challenge(server_challenge):
    """A CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2): Unicode, NTLM, extended session
    security, target "PROXY" with TargetInfo (NetBIOS names, timestamp)."""
    name = "PROXY".encode("utf-16-le")
    filetime = int(time.time() * 10000000) + 116444736000000000
    info = b""
    for av_id, value in ((2, name), (1, name), (7, struct.pack("<Q", filetime))):
        info += struct.pack("<HH", av_id, len(value)) + value
    info += struct.pack("<HH", 0, 0)
    flags = (0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00010000 |
             0x00080000 | 0x00800000 | 0x20000000 | 0x80000000)
    offset = 48
    return (b"NTLMSSP\0" + struct.pack("<I", 2) +
            struct.pack("<HHI", len(name), len(name), offset) + struct.pack("<I", flags) +
            server_challenge + b"\0" * 8 +
            struct.pack("<HHI", len(info), len(info), offset + len(name)) + name + info)


def ensure_md4():
    """python ntlm-auth needs MD4, which OpenSSL 3 keeps in its legacy
    provider: without it, run again (same process) with a configuration that
    loads that provider."""
    try:
        hashlib.new("md4", b"")
        return
    except ValueError:
        pass
    if os.environ.get("HTTP_PROXY_MD4_CONF"):
        sys.exit("http_proxy: no MD4 in this Python's OpenSSL")
    fd, path = tempfile.mkstemp(prefix="http-proxy-", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write("openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
                "[provider_sect]\ndefault = default_sect\nlegacy = legacy_sect\n"
                "[default_sect]\nactivate = 1\n[legacy_sect]\nactivate = 1\n")
    env = dict(os.environ, OPENSSL_CONF=path, HTTP_PROXY_MD4_CONF=path)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


class Proxy:
    def __init__(self, args):
        self.args = args
        self.hosts = dict(m.split("=", 1) for m in args.map)
        self.realm = "mms-test-proxy"
        self.nonces = set()
        self.log_lock = threading.Lock()
        self.log_file = open(args.log, "a", buffering=1)

    def log(self, line):
        with self.log_lock:
            self.log_file.write(line + "\n")

    def resolve(self, host):
        host = host.strip("[]")
        if host in self.hosts:
            return self.hosts[host]
        if host.endswith(".invalid"):
            return None
        return host

    # --- authentication -------------------------------------------------------

    def authorized(self, method, headers, conn_state):
        if not self.args.auth:
            return True
        value = headers.get("proxy-authorization", "")
        scheme, _, rest = value.partition(" ")
        if self.args.auth == "ntlm" and scheme.lower() == "ntlm":
            return self.ntlm(rest.strip(), conn_state)
        if self.args.auth == "basic" and scheme.lower() == "basic":
            try:
                user, _, pw = base64.b64decode(rest.strip()).decode().partition(":")
            except Exception:
                return False
            return user == self.args.user and pw == self.args.password
        if self.args.auth == "digest" and scheme.lower() == "digest":
            p = parse_params(rest)
            if p.get("username") != self.args.user or p.get("realm") != self.realm:
                return False
            if p.get("nonce") not in self.nonces:
                return False
            ha1 = md5("%s:%s:%s" % (self.args.user, self.realm, self.args.password))
            ha2 = md5("%s:%s" % (method, p.get("uri", "")))
            if p.get("qop"):
                want = md5(":".join([ha1, p["nonce"], p.get("nc", ""), p.get("cnonce", ""),
                                     p["qop"], ha2]))
            else:
                want = md5("%s:%s:%s" % (ha1, p["nonce"], ha2))
            return p.get("response") == want
        return False

    def ntlm(self, token, conn_state):
        try:
            msg = base64.b64decode(token)
        except ValueError:
            return False
        kind = struct.unpack_from("<I", msg, 8)[0] if len(msg) >= 12 else 0
        if msg[:8] != b"NTLMSSP\0":
            return False
        if kind == 1:
            conn_state["ntlm"] = ntlm_challenge(secrets.token_bytes(8))
            return False
        challenge = conn_state.pop("ntlm", None)
        if kind != 3 or challenge is None:
            return False
        import io
        import contextlib
        import ntlm_peer
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc = ntlm_peer.verify(self.args.user, self.args.password,
                                  base64.b64encode(challenge).decode(), token)
        sys.stderr.write("http_proxy: NTLM %s\n" % out.getvalue().strip())
        return rc == 0

    def challenge(self, conn_state):
        if self.args.auth == "ntlm":
            pending = conn_state.get("ntlm")
            return "NTLM" if pending is None else "NTLM " + base64.b64encode(pending).decode()
        if self.args.auth == "basic":
            return 'Basic realm="%s"' % self.realm
        nonce = secrets.token_hex(16)
        self.nonces.add(nonce)
        return 'Digest realm="%s", nonce="%s", qop="auth", opaque="%s"' % (
            self.realm, nonce, secrets.token_hex(4))

    # --- connections ----------------------------------------------------------

    def serve(self, conn):
        conn_state = {}  # per connection: the NTLM CHALLENGE sent on it
        try:
            buf = b""
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                    if len(buf) > MAX_HEAD:
                        return
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = (lines[0].split(" ") + ["", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if not self.authorized(method, headers, conn_state):
                    self.log("%s %s 407" % (method, target))
                    body = b"proxy authentication required\n"
                    close = self.args.close_on_407
                    conn.sendall(("HTTP/1.1 407 Proxy Authentication Required\r\n"
                                  "Proxy-Authenticate: %s\r\nContent-Length: %d\r\n%s\r\n" % (
                                      self.challenge(conn_state), len(body),
                                      "Connection: close\r\n" if close else "")).encode() + body)
                    if close:
                        return
                    continue
                if method == "CONNECT":
                    self.connect(conn, target, buf)
                elif target.startswith("http://"):
                    self.forward(conn, method, target, lines[1:], buf)
                else:
                    self.log("%s %s 400" % (method, target))
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                return
        except OSError:
            pass
        finally:
            conn.close()

    def open_upstream(self, method, target, host, port):
        ip = self.resolve(host)
        if ip is None:
            return None
        try:
            return socket.create_connection((ip, port), timeout=10)
        except OSError:
            return None

    def connect(self, conn, target, rest):
        host, _, port = target.rpartition(":")
        up = self.open_upstream("CONNECT", target, host, int(port or 0))
        if up is None:
            self.log("CONNECT %s 502" % target)
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.log("CONNECT %s 200" % target)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            up.sendall(rest)
        self.relay(conn, up)

    def forward(self, conn, method, target, header_lines, rest):
        hostport, _, path = target[len("http://"):].partition("/")
        path = "/" + path
        host, _, port = hostport.rpartition(":") if not hostport.endswith("]") else (hostport, "", "")
        if not host:
            host, port = hostport, "80"
        up = self.open_upstream(method, target, host, int(port or 80))
        if up is None:
            self.log("%s %s 502" % (method, target))
            conn.sendall(b"HTTP/1.0 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        self.log("%s %s 200" % (method, target))
        kept = [l for l in header_lines
                if l.partition(":")[0].strip().lower() not in ("proxy-authorization",
                                                               "proxy-connection")]
        up.sendall(("%s %s HTTP/1.0\r\n" % (method, path) + "".join(l + "\r\n" for l in kept)
                    + "\r\n").encode("latin-1") + rest)
        self.relay(conn, up)

    @staticmethod
    def relay(a, b):
        a.settimeout(None)
        b.settimeout(None)

        def pipe(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        t = threading.Thread(target=pipe, args=(b, a), daemon=True)
        t.start()
        pipe(a, b)
        t.join()
        b.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--map", action="append", default=[])
    ap.add_argument("--auth", choices=["basic", "digest", "ntlm"])
    ap.add_argument("--user", default="")
    ap.add_argument("--password", default="")
    ap.add_argument("--close-on-407", action="store_true")
    args = ap.parse_args()
    if args.auth == "ntlm":
        ensure_md4()
    proxy = Proxy(args)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.replace(tmp, args.port_file)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=proxy.serve, args=(conn,), daemon=True).start()


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # ntlm_peer

if __name__ == "__main__":
    sys.exit(main())
