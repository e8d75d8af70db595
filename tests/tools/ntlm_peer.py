#!/usr/bin/python3
"""An independent NTLM peer for tests/unit/ntlm_test.cpp: python ntlm-auth
(Debian's python3-ntlm-auth), run with /usr/bin/python3.

  ntlm_peer.py check
      exit 0 when ntlm_auth imports and MD4 works, 77 otherwise (skip)
  ntlm_peer.py negotiate COMPAT
      print the base64 NEGOTIATE_MESSAGE of an ntlm_auth client
  ntlm_peer.py authenticate COMPAT USER PASSWORD DOMAIN CHALLENGE_B64
      an ntlm_auth client (ntlm_compatibility COMPAT: 0/1 NTLMv1, 3..5
      NTLMv2) answers the CHALLENGE; print the base64 AUTHENTICATE_MESSAGE
  ntlm_peer.py verify USER PASSWORD CHALLENGE_B64 AUTHENTICATE_B64
      check someone else's AUTHENTICATE against the challenge: the challenge
      is parsed by ntlm_auth's ChallengeMessage, the AUTHENTICATE by the
      field layout of MS-NLMP 2.2.1.3 (ntlm_auth has no parser for it), and
      the responses recomputed with ntlm_auth's NTLMv2/NTLMv1 functions from
      the client challenge and time the message carries; print "v2 ok",
      "v1 ok" or "mismatch ..." (exit 0, 0, 1)

MD4 lives in OpenSSL 3's legacy provider: without it the script re-runs
itself once with an OPENSSL_CONF that loads that provider.
"""
import base64
import os
import struct
import sys
import tempfile

OPENSSL_CONF = """openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
default = default_sect
legacy = legacy_sect
[default_sect]
activate = 1
[legacy_sect]
activate = 1
"""
SKIP = 77


def md4_works():
    import hashlib
    try:
        hashlib.new("md4", b"")
        return True
    except ValueError:
        return False


def ensure_md4():
    if md4_works():
        return
    if os.environ.get("NTLM_PEER_REEXEC"):
        sys.stderr.write("ntlm_peer: no MD4 in this Python's OpenSSL\n")
        sys.exit(SKIP)
    fd, path = tempfile.mkstemp(prefix="ntlm-peer-", suffix=".cnf")
    with os.fdopen(fd, "w") as f:
        f.write(OPENSSL_CONF)
    env = dict(os.environ, OPENSSL_CONF=path, NTLM_PEER_REEXEC="1")
    import subprocess
    try:
        rc = subprocess.call([sys.executable] + sys.argv, env=env)
    finally:
        os.unlink(path)
    sys.exit(rc)


def fields(msg, count):
    """The (len, maxlen, offset) fields after signature and type."""
    out = []
    for i in range(count):
        length, _, offset = struct.unpack_from("<HHI", msg, 12 + 8 * i)
        if offset + length > len(msg):
            raise ValueError("field %d outside the message" % i)
        out.append(msg[offset:offset + length])
    return out


def verify(user, password, challenge_b64, authenticate_b64):
    from ntlm_auth.compute_response import ComputeResponse
    from ntlm_auth.constants import NegotiateFlags
    from ntlm_auth.messages import ChallengeMessage, TargetInfo

    challenge = ChallengeMessage(base64.b64decode(challenge_b64))
    msg = base64.b64decode(authenticate_b64)
    if msg[:8] != b"NTLMSSP\0" or struct.unpack_from("<I", msg, 8)[0] != 3:
        print("mismatch: not an AUTHENTICATE")
        return 1
    lm, nt, domain, name, _ws, _key = fields(msg, 6)
    flags = struct.unpack_from("<I", msg, 60)[0]
    decode = (lambda b: b.decode("utf-16-le")) if flags & 1 else (lambda b: b.decode("ascii"))
    if decode(name).upper() != user.upper():
        print("mismatch: user %r" % decode(name))
        return 1
    sc = challenge.server_challenge
    if len(nt) > 24:
        blob = nt[16:]
        timestamp, client_challenge = blob[8:16], blob[16:24]
        info = TargetInfo()
        info.unpack(blob[28:])
        expected, _ = ComputeResponse._get_NTLMv2_response(
            decode(name), password, decode(domain), sc, client_challenge, timestamp, info)
        if expected != nt:
            print("mismatch: NTLMv2 response")
            return 1
        print("v2 ok")
        return 0
    if flags & NegotiateFlags.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY:
        expected, _ = ComputeResponse._get_NTLM2_response(password, sc, lm[:8])
    else:
        expected, _ = ComputeResponse._get_NTLMv1_response(password, sc)
    if expected != nt:
        print("mismatch: NTLMv1 response")
        return 1
    print("v1 ok")
    return 0


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    try:
        import ntlm_auth.ntlm  # noqa: F401
    except ImportError:
        sys.stderr.write("ntlm_peer: python3-ntlm-auth is not installed\n")
        return SKIP
    ensure_md4()
    from ntlm_auth.ntlm import NtlmContext

    cmd = argv[1]
    if cmd == "check":
        return 0
    if cmd == "negotiate" and len(argv) == 3:
        ctx = NtlmContext("user", "password", ntlm_compatibility=int(argv[2]))
        print(base64.b64encode(ctx.step()).decode())
        return 0
    if cmd == "authenticate" and len(argv) == 7:
        compat, user, password, domain, challenge = argv[2:]
        ctx = NtlmContext(user, password, domain=domain or None,
                          workstation="PEER", ntlm_compatibility=int(compat))
        ctx.step()
        print(base64.b64encode(ctx.step(base64.b64decode(challenge))).decode())
        return 0
    if cmd == "verify" and len(argv) == 6:
        return verify(*argv[2:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
