#!/usr/bin/env python3
"""Checks a registry:2-layout store after a garbage collection: can every tag still be pulled?

  gc_check.py STORE_ROOT

For every repository and tag: the manifest the tag names must have its revision link and its data;
an index's (or manifest list's) children likewise, recursively; an image's config and layers must
have their _layers link in the repository and their data. Prints one JSON object: counts of
repositories, tags, broken tags (at least one piece missing), the distinct links and data files
missing (a manifest whose revision link is gone is still followed if its data is there, to count
the blobs under it), and the store's blob data files and revision links.
"""
import json
import os
import sys

root = os.path.join(sys.argv[1], "docker/registry/v2")
blobs = os.path.join(root, "blobs/sha256")


def data(hex_):
    return os.path.join(blobs, hex_[:2], hex_, "data")


def hex_of(digest):
    return digest.split(":", 1)[1]


def repositories(top):
    for dirpath, dirnames, _ in os.walk(top):
        if "_manifests" in dirnames or "_layers" in dirnames:
            yield dirpath
        dirnames[:] = [d for d in dirnames if not d.startswith("_")]


def check_repo(repo, missing):
    """Returns (tags, broken tags) of one repository, adding what is missing to `missing`."""
    tags_dir = os.path.join(repo, "_manifests/tags")
    tags = sorted(os.listdir(tags_dir)) if os.path.isdir(tags_dir) else []
    ok_cache = {}

    def piece(kind, hex_):
        """Whether the link and the data are there; what is not goes into `missing`."""
        key = (kind, hex_)
        if key not in ok_cache:
            sub = "_manifests/revisions" if kind == "manifest" else "_layers"
            linked = os.path.exists(os.path.join(repo, sub, "sha256", hex_, "link"))
            stored = os.path.exists(data(hex_))
            if not linked:
                missing.add((repo, kind + "_link", hex_))
            if not stored:
                missing.add(("", "data", hex_))
            ok_cache[key] = (linked and stored, stored)
        return ok_cache[key]

    def manifest(hex_):
        ok, stored = piece("manifest", hex_)
        if not stored:
            return False
        with open(data(hex_), "rb") as f:
            m = json.load(f)
        if "manifests" in m:
            for child in m["manifests"]:
                ok = manifest(hex_of(child["digest"])) and ok
        else:
            for blob in [m["config"]] + m.get("layers", []):
                ok = piece("blob", hex_of(blob["digest"]))[0] and ok
        return ok

    broken = 0
    for tag in tags:
        link = os.path.join(tags_dir, tag, "current/link")
        try:
            with open(link) as f:
                digest = f.read().strip()
        except FileNotFoundError:
            continue  # a tag directory without current: not a tag any more
        if not manifest(hex_of(digest)):
            broken += 1
    return len(tags), broken


def main():
    missing = set()
    repos = tags = broken = 0
    for repo in repositories(os.path.join(root, "repositories")):
        t, b = check_repo(repo, missing)
        repos += 1
        tags += t
        broken += b
    blob_files = sum(
        1 for _, _, files in os.walk(blobs) for name in files if name == "data"
    )
    revisions = 0
    for repo in repositories(os.path.join(root, "repositories")):
        rev = os.path.join(repo, "_manifests/revisions/sha256")
        if os.path.isdir(rev):
            revisions += len(os.listdir(rev))
    print(
        json.dumps(
            {
                "repositories": repos,
                "tags": tags,
                "broken_tags": broken,
                "missing_revision_links": sum(1 for m in missing if m[1] == "manifest_link"),
                "missing_layer_links": sum(1 for m in missing if m[1] == "blob_link"),
                "missing_data": sum(1 for m in missing if m[1] == "data"),
                "blob_files": blob_files,
                "revisions": revisions,
            }
        )
    )


main()
