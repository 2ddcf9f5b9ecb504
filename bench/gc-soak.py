#!/usr/bin/env python3
"""The race of issue 12, section 1, against a real server: "delete the old image, push a rebuild on
the same old base layer" while garbage collections run beside it, then check that every
acknowledged tag pulls completely. Driven by bench/gc-soak.sh, which starts the server and the
collectors; see there."""
import hashlib
import http.client
import json
import sys
import time

host, port, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
repo = "soak/app"
conn = http.client.HTTPConnection(host, port, timeout=120)


def call(method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r.status, r.headers, r.read()


def upload(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    s, h, _ = call("POST", f"/v2/{repo}/blobs/uploads/")
    assert s == 202, s
    loc = h["Location"]
    sep = "&" if "?" in loc else "?"
    s, _, b = call("PUT", f"{loc}{sep}digest={digest}", data,
                   {"Content-Type": "application/octet-stream"})
    assert s == 201, (s, b)
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest,
            "size": len(data)}


def manifest(config, layers):
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"),
                       "layers": layers}).encode()


MT = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}

if sys.argv[4:] == ["setup"]:
    base = upload(b"the old base layer " * 1000)
    # a few hundred other manifests, so a collection takes a while between listing and deleting
    for k in range(300):
        other = manifest(upload(b'{"other":%d}' % k), [upload(b"other layer %d" % k)])
        s, _, b = call("PUT", f"/v2/{repo}/manifests/keep-{k}", other, MT)
        assert s == 201, (s, b)
    m = manifest(upload(b'{"architecture":"amd64","os":"linux","v":0}'), [base])
    s, h, b = call("PUT", f"/v2/{repo}/manifests/t0", m, MT)
    assert s == 201, (s, b)
    json.dump({"base": base, "previous": h["Docker-Content-Digest"]}, open("soak-state.json", "w"))
    sys.exit(0)

state = json.load(open("soak-state.json"))
base, previous = state["base"], state["previous"]
acked, refused, reuploaded, broken = [], 0, 0, []


def pulls(tag):
    """Whether the tag's manifest and every blob it references pull, with the right digests."""
    s, _, body = call("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": MT["Content-Type"]})
    if s != 200:
        return f"manifest {s}"
    m = json.loads(body)
    for d in [m["config"]] + m["layers"]:
        s, _, data = call("GET", f"/v2/{repo}/blobs/{d['digest']}")
        if s != 200 or "sha256:" + hashlib.sha256(data).hexdigest() != d["digest"]:
            return f"blob {d['digest']} {s}"
    return None


start = time.time()
live = None  # the last acknowledged tag, until the loop deletes its manifest
for i in range(1, iterations + 1):
    if live:
        # The previous image is still tagged and live, so its base layer must answer: a
        # collection that listed the repository before its push must not have deleted the link.
        s, _, _ = call("HEAD", f"/v2/{repo}/blobs/{base['digest']}")
        if s != 200:
            problem = pulls(live)
            broken.append((live, problem or f"base layer HEAD {s}"))
            print(f"BROKEN {live}: {problem or s}", file=sys.stderr)
    live = None
    # delete the last image that uses the base layer, then push a rebuild on it
    s, _, _ = call("DELETE", f"/v2/{repo}/manifests/{previous}")
    assert s in (202, 404), s
    s, _, _ = call("HEAD", f"/v2/{repo}/blobs/{base['digest']}")
    if s == 404:
        upload(b"the old base layer " * 1000)
        reuploaded += 1
    config = upload(b'{"architecture":"amd64","os":"linux","v":%d}' % i)
    s, h, b = call("PUT", f"/v2/{repo}/manifests/t{i}", manifest(config, [base]), MT)
    if s == 201:
        acked.append(f"t{i}")
        live = f"t{i}"
        previous = h["Docker-Content-Digest"]
    else:
        refused += 1  # a clean refusal is allowed; a broken acknowledged image is not
        print(f"push t{i} refused: {s} {b[:200]!r}", file=sys.stderr)
time.sleep(0.5)
if live and pulls(live):
    broken.append((live, pulls(live)))
print(json.dumps({"iterations": iterations, "acknowledged": len(acked), "refused": refused,
                  "base_reuploaded": reuploaded, "broken": len(broken),
                  "seconds": round(time.time() - start, 1)}))
sys.exit(1 if broken else 0)
