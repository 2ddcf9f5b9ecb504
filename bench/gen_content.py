#!/usr/bin/env python3
"""Generates the benchmark's content (random bytes, so nothing is shared across runs).

  gen_content.py image DIR BLOB_BYTES
      DIR/blob                 a random blob of BLOB_BYTES bytes
      DIR/config.json          an OCI image config
      DIR/manifest.json        an OCI image manifest referencing config.json and blob
      DIR/digests              shell variables: BLOB_DIGEST, CONFIG_DIGEST, MANIFEST_DIGEST, ...

  gen_content.py layout DIR LAYER_BYTES LAYERS TAG
      DIR is an OCI image layout (oci-layout, index.json, blobs/sha256/...) holding one image
      index tagged TAG with three platforms (linux/amd64, linux/arm64, linux/arm/v7), each an
      image with LAYERS layers of LAYER_BYTES random bytes (gzip, stored blocks) and a config.
"""
import hashlib
import json
import zlib
import os
import sys

CHUNK = 1 << 20
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
# The big blob: raw random bytes, labelled uncompressed (only curl and nginx ever see it).
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
# The skopeo image's layers: random bytes in a gzip stream of stored (level 0) blocks, so that
# skopeo sees compressed layers and copies them as they are, instead of gzipping them on push
# (which would make the push time mostly skopeo's own compression).
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def random_file(path, size):
    """Writes size random bytes to path; returns the sha256 hex digest."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            b = os.urandom(min(CHUNK, left))
            h.update(b)
            f.write(b)
            left -= len(b)
    return h.hexdigest()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def dumps(obj):
    return json.dumps(obj, indent=2, sort_keys=True).encode() + b"\n"


def image(out, blob_bytes):
    os.makedirs(out, exist_ok=True)
    blob_hex = random_file(os.path.join(out, "blob"), blob_bytes)
    config = dumps({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + blob_hex]},
    })
    config_hex = write_bytes(os.path.join(out, "config.json"), config)
    manifest = dumps({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": "sha256:" + config_hex, "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": "sha256:" + blob_hex, "size": blob_bytes}],
    })
    manifest_hex = write_bytes(os.path.join(out, "manifest.json"), manifest)
    with open(os.path.join(out, "digests"), "w") as f:
        f.write("BLOB_DIGEST=sha256:%s\nBLOB_SIZE=%d\n" % (blob_hex, blob_bytes))
        f.write("CONFIG_DIGEST=sha256:%s\nCONFIG_SIZE=%d\n" % (config_hex, len(config)))
        f.write("MANIFEST_DIGEST=sha256:%s\nMANIFEST_SIZE=%d\n" % (manifest_hex, len(manifest)))
        f.write("MANIFEST_TYPE=%s\n" % OCI_MANIFEST)


def layout(out, layer_bytes, layers, tag):
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    tmp = os.path.join(blobs, ".tmp")

    def add_random_gzip(size):
        """A gzip (stored blocks) of size random bytes; returns (digest hex, size, diff_id hex)."""
        raw = hashlib.sha256()
        comp = hashlib.sha256()
        z = zlib.compressobj(0, zlib.DEFLATED, 31)  # wbits 31: gzip container
        n = 0
        with open(tmp, "wb") as f:
            left = size
            while left > 0:
                b = os.urandom(min(CHUNK, left))
                raw.update(b)
                left -= len(b)
                out = z.compress(b)
                comp.update(out)
                n += len(out)
                f.write(out)
            out = z.flush()
            comp.update(out)
            n += len(out)
            f.write(out)
        hexd = comp.hexdigest()
        os.replace(tmp, os.path.join(blobs, hexd))
        return hexd, n, raw.hexdigest()

    def add_bytes(data):
        hexd = hashlib.sha256(data).hexdigest()
        write_bytes(os.path.join(blobs, hexd), data)
        return {"digest": "sha256:" + hexd, "size": len(data)}

    platforms = [("amd64", None), ("arm64", None), ("arm", "v7")]
    entries = []
    for arch, variant in platforms:
        layer_descs = []
        diff_ids = []
        for _ in range(layers):
            hexd, n, diff = add_random_gzip(layer_bytes)
            layer_descs.append({"mediaType": OCI_LAYER_GZIP, "digest": "sha256:" + hexd, "size": n})
            diff_ids.append("sha256:" + diff)
        plat = {"architecture": arch, "os": "linux"}
        if variant:
            plat["variant"] = variant
        cfg = dict(plat)
        cfg["config"] = {"Env": ["PATH=/usr/bin"]}
        cfg["rootfs"] = {"type": "layers", "diff_ids": diff_ids}
        cdesc = add_bytes(dumps(cfg))
        cdesc["mediaType"] = OCI_CONFIG
        mdesc = add_bytes(dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": cdesc,
                                 "layers": layer_descs}))
        mdesc["mediaType"] = OCI_MANIFEST
        mdesc["platform"] = plat
        entries.append(mdesc)
    idesc = add_bytes(dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}))
    idesc["mediaType"] = OCI_INDEX
    idesc["annotations"] = {"org.opencontainers.image.ref.name": tag}
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(dumps({"schemaVersion": 2, "manifests": [idesc]}))
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(dumps({"imageLayoutVersion": "1.0.0"}))


def main(argv):
    if len(argv) == 4 and argv[1] == "image":
        image(argv[2], int(argv[3]))
    elif len(argv) == 6 and argv[1] == "layout":
        layout(argv[2], int(argv[3]), int(argv[4]), argv[5])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
