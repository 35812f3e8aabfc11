"""Where documents' content is kept: a folder on local disk (the default) or an S3-compatible bucket, behind one
interface, so the service never knows which.

Content is stored under a random key, never under the uploader's file name. The local store writes into a
temporary file in the same folder and renames it into place, so a reader never finds half a file; the S3 store
relies on S3's own all-or-nothing upload.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any, Protocol

CHUNK = 256 * 1024


class StoreError(RuntimeError):
    """The store could not do what was asked (disk full, bucket unreachable); nothing is half-done."""


class DocumentStore(Protocol):
    """What every store does. Keys are made by :func:`new_key`: lower-case hex, safe anywhere."""

    #: shown to operators (``caseframe documents check``)
    description: str

    async def put(self, key: str, source: Path) -> None:
        """Store the file at ``source`` under ``key``, all of it or nothing."""

    def read(self, key: str) -> AsyncGenerator[bytes, None]:
        """The content stored under ``key``, in chunks; :class:`FileNotFoundError` if there is none. A reader
        that stops early closes it (``aclose``), so the file or connection behind it is let go at once."""

    async def delete(self, key: str) -> None:
        """Remove the content under ``key``; no error if there is none."""

    async def exists(self, key: str) -> bool:
        """Whether content is stored under ``key``."""


def new_key() -> str:
    return secrets.token_hex(20)


def _checked(key: str) -> str:
    if not key or len(key) > 80 or any(c not in "0123456789abcdef" for c in key):
        raise StoreError("not a document key")
    return key


class LocalStore:
    """Files in a folder (``CASEFRAME_DOCUMENTS_DIR``), spread over 256 sub-folders by the key's first two
    characters, readable by the server's user only."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.description = f"local folder {self.root.resolve()}"

    def path_of(self, key: str) -> Path:
        key = _checked(key)
        return self.root / key[:2] / key

    async def put(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._put, key, Path(source))

    def _put(self, key: str, source: Path) -> None:
        target = self.path_of(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            temp = target.with_name(f".{key}.{secrets.token_hex(4)}.part")
            try:
                with open(source, "rb") as src, open(temp, "xb") as dst:
                    os.chmod(temp, 0o600)
                    shutil.copyfileobj(src, dst, CHUNK)
                    dst.flush()
                    os.fsync(dst.fileno())
                os.replace(temp, target)  # atomic: the key names the whole file or nothing
            finally:
                temp.unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot write to the document folder: {exc.strerror}") from None

    async def read(self, key: str) -> AsyncGenerator[bytes, None]:
        handle = await asyncio.to_thread(open, self.path_of(key), "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot remove from the document folder: {exc.strerror}") from None

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)


class S3Store:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph...), through boto3 (``pip install caseframe[s3]``).

    Credentials come from boto3's usual places (environment, shared config, instance role); the bucket, an
    optional key prefix, endpoint and region from ``CASEFRAME_S3_*``. boto3 blocks, so each call runs in a thread.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        if client is None:
            try:
                import boto3
            except ImportError:
                raise StoreError("S3 storage needs boto3: install caseframe[s3]") from None
            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.description = (
            f"S3 bucket {bucket}"
            + (f" under {self.prefix}" if self.prefix else "")
            + (f" at {endpoint_url}" if endpoint_url else "")
        )

    def _name(self, key: str) -> str:
        return self.prefix + _checked(key)

    async def put(self, key: str, source: Path) -> None:
        name = self._name(key)
        try:  # upload_file sends big files in parts; the object appears only when every part has arrived
            await asyncio.to_thread(self.client.upload_file, str(source), self.bucket, name)
        except Exception as exc:  # botocore's errors: the object does not exist, nothing to undo
            raise StoreError(f"cannot write to the S3 bucket: {exc.__class__.__name__}") from None

    async def read(self, key: str) -> AsyncGenerator[bytes, None]:
        name = self._name(key)
        try:
            response = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=name)
        except Exception as exc:
            if _is_missing(exc):
                raise FileNotFoundError(key) from None
            raise StoreError(f"cannot read from the S3 bucket: {exc.__class__.__name__}") from None
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if not _is_missing(exc):
                raise StoreError(f"cannot remove from the S3 bucket: {exc.__class__.__name__}") from None

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._name(key))
        except Exception as exc:
            if _is_missing(exc):
                return False
            raise StoreError(f"cannot read from the S3 bucket: {exc.__class__.__name__}") from None
        return True


def _is_missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


# -- the configured store and limits -------------------------------------------------------------------


class Config:
    """The store and the rules uploads follow, set from Settings when the app is built."""

    store: DocumentStore | None = None
    max_bytes: int = 20 * 1024 * 1024
    require_scan: bool = False


CONFIG = Config()


def configure(settings: Any) -> None:
    """Use the store and limits ``settings`` name (called by create_app; tests call it with their own)."""
    chosen = store_from_settings(settings)
    CONFIG.max_bytes = settings.documents_max_bytes
    CONFIG.require_scan = settings.documents_require_scan
    CONFIG.store = chosen


def store_from_settings(settings: Any) -> DocumentStore:
    """The store ``settings`` name, or StoreError saying which setting is wrong (nothing is written or reached)."""
    if settings.documents_store == "s3":
        if not settings.s3_bucket:
            raise StoreError("CASEFRAME_DOCUMENTS_STORE=s3 needs CASEFRAME_S3_BUCKET")
        try:
            return S3Store(
                settings.s3_bucket,
                prefix=settings.s3_prefix,
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
            )
        except ValueError as exc:  # boto3's words for an endpoint or region it cannot use
            raise StoreError(
                f"the S3 settings cannot be used ({exc}): check CASEFRAME_S3_ENDPOINT_URL and CASEFRAME_S3_REGION"
            ) from None
    if settings.documents_store == "local":
        return LocalStore(settings.documents_dir)
    raise StoreError(f"CASEFRAME_DOCUMENTS_STORE must be local or s3, not {settings.documents_store!r}")


def use_store(store: DocumentStore) -> None:
    CONFIG.store = store


def store() -> DocumentStore:
    if CONFIG.store is None:
        from caseframe.core.settings import Settings

        configure(Settings())
    assert CONFIG.store is not None
    return CONFIG.store
