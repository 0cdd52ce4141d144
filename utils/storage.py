"""Where uploaded bytes live, behind one interface: a local directory (the embedded
default, under instance/) or an S3-compatible object store (AWS S3, MinIO, R2, ...)
through boto3, chosen by STORAGE_BACKEND. Objects are private on both: a download is
authorized by the app first, then streamed (local, or nginx through X-Accel-Redirect) or
redirected to a presigned URL that expires in S3_DOWNLOAD_SECONDS.

Keys are made here, never taken from a client, and every key is checked against
KEY_PATTERN, so no key can climb out of the directory or the bucket's prefix.
"""
from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, current_app, redirect, send_file

KEY_PATTERN = re.compile(r"^(avatars|uploads|thumbs)/[A-Za-z0-9_-]{16,64}(\.[a-z0-9]{1,5})?$")
EXTENSION = "roundtable_storage"


class NoDirectUpload(Exception):
    """This backend takes no presigned uploads (the local directory)."""


def check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


def new_key(folder: str, extension: str = "") -> str:
    return check_key(f"{folder}/{secrets.token_urlsafe(24)}"
                     + (f".{extension}" if extension else ""))


def disposition(name: str, inline: bool) -> str:
    """A Content-Disposition value with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"


class LocalStorage:
    """Files under one directory; written to a temporary name, then renamed."""

    name = "local"
    direct_uploads = False

    def __init__(self, root: str, accel_prefix: str | None = None) -> None:
        self.root = Path(root)
        self.accel_prefix = accel_prefix.rstrip("/") if accel_prefix else None

    def path_for(self, key: str) -> Path:
        return self.root / check_key(key)

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        partial.write_bytes(data)
        partial.rename(path)

    def read(self, key: str) -> bytes | None:
        try:
            return self.path_for(key).read_bytes()
        except (FileNotFoundError, ValueError):
            return None

    def size(self, key: str) -> int | None:
        try:
            return self.path_for(key).stat().st_size
        except (FileNotFoundError, ValueError):
            return None

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str | None) -> None:
        if key and KEY_PATTERN.match(key):
            self.path_for(key).unlink(missing_ok=True)

    def download(self, key: str, content_type: str, name: str, inline: bool,
                 max_age: int = 0) -> Response:
        """The bytes through the app, or an empty answer nginx fills from its internal
        location (X-Accel-Redirect) when STORAGE_LOCAL_ACCEL_PREFIX names one."""
        if self.accel_prefix:
            response = Response(status=200, content_type=content_type)
            response.headers["X-Accel-Redirect"] = f"{self.accel_prefix}/{check_key(key)}"
        else:
            response = send_file(self.path_for(key), mimetype=content_type, max_age=max_age,
                                 conditional=True, etag=True)
        response.headers["Content-Disposition"] = disposition(name, inline)
        return response

    def presigned_post(self, key: str, max_bytes: int, seconds: int) -> dict[str, Any]:
        raise NoDirectUpload("The local storage backend takes uploads through the API only.")


class S3Storage:
    """An S3-compatible bucket through boto3; objects are private (no ACL is ever set)."""

    name = "s3"
    direct_uploads = True

    def __init__(self, bucket: str, prefix: str = "", download_seconds: int = 60,
                 **client_options: Any) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.download_seconds = download_seconds
        options = {k: v for k, v in client_options.items() if v}
        self.client = boto3.client("s3", config=Config(signature_version="s3v4",
                                                       s3={"addressing_style": "path"}),
                                   **options)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def save(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data,
                               ContentType=content_type)

    def read(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def delete(self, key: str | None) -> None:
        if key and KEY_PATTERN.match(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def download(self, key: str, content_type: str, name: str, inline: bool,
                 max_age: int = 0) -> Response:
        """A redirect to a presigned GET that answers with our type and disposition."""
        url = self.client.generate_presigned_url(
            "get_object", ExpiresIn=self.download_seconds,
            Params={"Bucket": self.bucket, "Key": self._key(key),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": disposition(name, inline)})
        response = redirect(url, code=302)
        response.headers["Cache-Control"] = "private, no-store"
        return response

    def presigned_post(self, key: str, max_bytes: int, seconds: int) -> dict[str, Any]:
        """{url, fields} of a browser form POST that may store 1..max_bytes at `key` only."""
        return self.client.generate_presigned_post(
            Bucket=self.bucket, Key=self._key(key), ExpiresIn=seconds,
            Conditions=[["content-length-range", 1, max_bytes]])


Storage = LocalStorage | S3Storage


def make_storage(config: dict[str, Any]) -> Storage:
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(config["UPLOAD_DIR"], config.get("STORAGE_LOCAL_ACCEL_PREFIX"))
    if backend == "s3":
        return S3Storage(config["S3_BUCKET"], config.get("S3_PREFIX") or "",
                         int(config.get("S3_DOWNLOAD_SECONDS") or 60),
                         endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region_name=config.get("S3_REGION"),
                         aws_access_key_id=config.get("S3_ACCESS_KEY_ID"),
                         aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY"))
    raise ValueError(f"STORAGE_BACKEND must be local or s3, got {backend!r}")


def get_storage() -> Storage:
    return current_app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = make_storage(app.config)
