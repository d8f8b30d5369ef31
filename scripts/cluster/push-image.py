#!/usr/bin/env python3
"""Pushes an OCI image layout (directory or tarball, e.g. `cwasi image build`'s
output) to a plain-HTTP registry through the registry API, with nothing but
the standard library (skopeo, run as root, would leave a blob-info cache in
/var/lib/containers).

    push-image.py SRC HOST:PORT/NAME:TAG

Pushes every blob, then the manifests: for an image index, its child
manifests by digest first, then the one that index.json names (the entry
annotated with TAG, else the only one) under TAG."""
import json
import os
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request

INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, ref = sys.argv[1], sys.argv[2]
    host, _, rest = ref.partition("/")
    name, _, tag = rest.rpartition(":")
    if not name or "/" in tag:
        sys.exit(f"push-image: {ref}: expected HOST:PORT/NAME:TAG")
    with tempfile.TemporaryDirectory() as tmp:
        if os.path.isfile(src):
            with tarfile.open(src) as t:
                t.extractall(tmp, filter="data") if hasattr(tarfile, "data_filter") else t.extractall(tmp)
            src = tmp
        base = f"http://{host}/v2/{name}"
        blobdir = os.path.join(src, "blobs", "sha256")

        def blob(digest):
            with open(os.path.join(blobdir, digest.split(":", 1)[1]), "rb") as f:
                return f.read()

        pushed = 0
        for hexd in sorted(os.listdir(blobdir)):
            digest = "sha256:" + hexd
            if request("HEAD", f"{base}/blobs/{digest}")[0] == 200:
                continue
            status, headers, body = request("POST", f"{base}/blobs/uploads/", b"")
            if status != 202:
                sys.exit(f"push-image: starting an upload to {base}: HTTP {status} {body[:200]!r}")
            loc = headers["Location"]
            if loc.startswith("/"):
                loc = f"http://{host}{loc}"
            loc += ("&" if "?" in loc else "?") + "digest=" + digest
            status, _, body = request("PUT", loc, blob(digest), {"Content-Type": "application/octet-stream"})
            if status != 201:
                sys.exit(f"push-image: blob {digest}: HTTP {status} {body[:200]!r}")
            pushed += 1

        with open(os.path.join(src, "index.json")) as f:
            entries = json.load(f).get("manifests", [])
        named = [m for m in entries if m.get("annotations", {}).get("org.opencontainers.image.ref.name") in (tag, ref)]
        if len(named) != 1 and len(entries) != 1:
            sys.exit(f"push-image: {src}/index.json: which manifest is {tag}? ({len(entries)} entries)")
        top = named[0] if len(named) == 1 else entries[0]

        def put_manifest(desc, reference):
            if desc["mediaType"] in INDEX_TYPES:
                for child in json.loads(blob(desc["digest"])).get("manifests", []):
                    put_manifest(child, child["digest"])
            status, _, body = request("PUT", f"{base}/manifests/{reference}", blob(desc["digest"]),
                                      {"Content-Type": desc["mediaType"]})
            if status != 201:
                sys.exit(f"push-image: manifest {desc['digest']}: HTTP {status} {body[:300]!r}")

        put_manifest(top, tag)
        print(f"push-image: {ref} {top['digest']} ({pushed} new blobs)")


if __name__ == "__main__":
    main()
