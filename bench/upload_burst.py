#!/usr/bin/env python3
"""One burst of parallel blob uploads against a registry (bench/upload-memory.sh drives it).

usage: upload_burst.py HOST:PORT MODE COUNT SIZE_MIB [CHUNK_MIB]
MODE is "monolithic" (POST, then one PUT ?digest= with the whole body) or "chunked" (POST, PATCHes
of CHUNK_MIB with Content-Range, then an empty PUT ?digest=). Each upload sends distinct content
(a unique first 16 bytes over one shared random payload), so the client holds one payload only.
Prints "ok N failed M seconds S"; exits 1 if any upload failed.
"""
import hashlib
import http.client
import os
import sys
import threading
import time

host, mode, count, size_mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
chunk = int(sys.argv[5]) << 20 if len(sys.argv) > 5 else 16 << 20
size = size_mib << 20
payload = memoryview(os.urandom(size))
PIECE = 1 << 20


def body(i):
    """Upload i's content: its own 16-byte prefix, then the shared payload."""
    prefix = ("upload-%010d" % i).encode()[:16].ljust(16, b"_")
    return prefix, payload[16:]


def digest(i):
    prefix, rest = body(i)
    h = hashlib.sha256(prefix)
    h.update(rest)
    return "sha256:" + h.hexdigest()


def send(conn, method, url, parts, headers):
    total = sum(len(p) for p in parts)
    conn.putrequest(method, url, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(total))
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    for p in parts:
        for off in range(0, len(p), PIECE):
            conn.send(p[off:off + PIECE])
    r = conn.getresponse()
    r.read()
    return r


def upload(i, digests, failures):
    conn = http.client.HTTPConnection(host, timeout=600)
    try:
        r = send(conn, "POST", "/v2/bench/memory/blobs/uploads/", [], {})
        if r.status != 202:
            raise RuntimeError("POST %d" % r.status)
        loc = r.getheader("Location")
        prefix, rest = body(i)
        sep = "&" if "?" in loc else "?"
        if mode == "monolithic":
            r = send(conn, "PUT", loc + sep + "digest=" + digests[i], [prefix, rest],
                     {"Content-Type": "application/octet-stream"})
        else:
            # chunks of prefix+rest without copying: the first holds the prefix
            for off in range(0, size, chunk):
                end = min(off + chunk, size)
                parts = [prefix, rest[0:end - 16]] if off == 0 else [rest[off - 16:end - 16]]
                r = send(conn, "PATCH", loc, parts,
                         {"Content-Type": "application/octet-stream",
                          "Content-Range": "%d-%d" % (off, end - 1)})
                if r.status != 202:
                    raise RuntimeError("PATCH %d" % r.status)
                loc = r.getheader("Location")
                sep = "&" if "?" in loc else "?"
            r = send(conn, "PUT", loc + sep + "digest=" + digests[i], [], {})
        if r.status != 201:
            raise RuntimeError("PUT %d" % r.status)
    except Exception as e:  # noqa: BLE001 - any failure is counted and reported
        failures.append("%d: %s" % (i, e))
    finally:
        conn.close()


digests = [digest(i) for i in range(count)]
failures = []
threads = [threading.Thread(target=upload, args=(i, digests, failures)) for i in range(count)]
t0 = time.time()
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ok %d failed %d seconds %.1f" % (count - len(failures), len(failures), time.time() - t0))
for f in failures[:5]:
    print("  " + f, file=sys.stderr)
sys.exit(1 if failures else 0)
