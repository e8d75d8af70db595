#!/usr/bin/env bash
# MMSH keep-alive and pipelined requests, end to end: Python's http.client
# sends a Describe and then a Play on one HTTP/1.1 connection, and a raw socket
# sends Describe, SelectStream (POST) and Play back to back in one write; the
# answers must come in order on that connection, the $H of each Describe equal
# to the Play's, and the Play must carry every packet of the file (or only the
# audio stream's payloads after the SelectStream).
source "$(dirname "${BASH_SOURCE[0]}")/../interop/lib.sh"
need python3
ensure_media
start_server --fast
run "$CMD_TIMEOUT" python3 - "$SERVER_PORT" "$MEDIA/av-wmv2-wma2-10s.asf" >"$T/check.log" 2>&1 <<'PY' ||
import http.client, socket, struct, sys
port, path = int(sys.argv[1]), sys.argv[2]
UA = {"User-Agent": "NSPlayer/7.10.0.3059", "Accept": "*/*"}
def frames(body):
    out, i = [], 0
    while i < len(body):
        t = body[i:i + 2]
        n = struct.unpack_from("<H", body, i + 2)[0]
        out.append((t, body[i + 4:i + 4 + n]))
        i += 4 + n
    return out

def packet_count(data):
    # Data packets of the file: File Properties' count.
    fp = data.find(bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365"))
    return struct.unpack_from("<Q", data, fp + 56)[0]

want = packet_count(open(path, "rb").read())
# 1. Describe then Play on one connection (http.client reuses it).
c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
c.request("GET", "/av-wmv2-wma2-10s.asf", headers={**UA, "Pragma": "no-cache,request-context=1"})
r = c.getresponse()
assert r.status == 200, r.status
assert r.getheader("Connection") == "Keep-Alive", r.getheader("Connection")
describe = r.read()
hdr = b"".join(p[8:] for t, p in frames(describe) if t == b"$H")
sock = c.sock
assert sock is not None, "http.client closed the connection after the Describe"
c.request("GET", "/av-wmv2-wma2-10s.asf", headers={**UA, "Pragma": "no-cache,xPlayStrm=1,stream-time=0"})
assert c.sock is sock, "the Play went on a new connection"
r = c.getresponse()
assert r.status == 200 and r.getheader("Connection") == "Close"
play = frames(r.read())
assert b"".join(p[8:] for t, p in play if t == b"$H") == hdr, "Play's $H differs from the Describe's"
data = [p for t, p in play if t == b"$D"]
assert len(data) == want, (len(data), want)
assert play[-1][0] == b"$E"
print("describe + play on one connection: %d packets" % len(data))

# 2. Three requests back to back in one write.
def req(method, pragma, extra=""):
    return ("%s /av-wmv2-wma2-10s.asf HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: NSPlayer/7.10.0.3059\r\n"
            "Pragma: %s\r\n%sConnection: Keep-Alive\r\n\r\n" % (method, pragma, extra)).encode()
s = socket.create_connection(("127.0.0.1", port), timeout=20)
s.sendall(req("GET", "no-cache") +
          req("POST", "no-cache,stream-switch-count=2,stream-switch-entry=ffff:1:2 ffff:2:0", "Content-Length: 0\r\n") +
          req("GET", "no-cache,xPlayStrm=1,stream-time=0"))
buf = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    buf += b
heads = []
for i in range(3):
    end = buf.index(b"\r\n\r\n") + 4
    head = buf[:end].decode()
    buf = buf[end:]
    length = [int(l.split(":")[1]) for l in head.split("\r\n") if l.lower().startswith("content-length:")]
    body = buf[:length[0]] if length else buf
    buf = buf[len(body):]
    heads.append((head.split("\r\n")[0], body))
assert [h for h, _ in heads] == ["HTTP/1.0 200 OK"] * 3, [h for h, _ in heads]
assert heads[1][1] == b""
got = frames(heads[2][1])
d = [p for t, p in got if t == b"$D"]
assert 0 < len(d) < want, len(d)
assert b"".join(p[8:] for t, p in frames(heads[0][1]) if t == b"$H") == hdr
print("pipelined describe + select-stream + play: %d of %d packets (audio only)" % (len(d), want))
PY
  { cat "$T/check.log"; fail "keep-alive check failed"; }
cat "$T/check.log"
log "PASS"
