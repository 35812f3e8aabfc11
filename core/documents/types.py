"""What a file really is, read from its content (never from its name or the browser's word), and safe names for it.

Only the kinds below are accepted, and the file's extension must name the kind its content is: a PDF renamed
``.docx`` or a web page renamed ``.pdf`` is refused. Office files are zip archives: they are recognised from the
archive's central directory (the list of its members), never unpacked, so a zip bomb costs nothing to refuse.
"""

from __future__ import annotations

import codecs
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    content_type: str
    extensions: tuple[str, ...]


KINDS = {
    k.name: k
    for k in (
        Kind("pdf", "PDF", "application/pdf", (".pdf",)),
        Kind("png", "PNG image", "image/png", (".png",)),
        Kind("jpeg", "JPEG image", "image/jpeg", (".jpg", ".jpeg")),
        Kind("gif", "GIF image", "image/gif", (".gif",)),
        Kind("webp", "WebP image", "image/webp", (".webp",)),
        Kind(
            "docx",
            "Word document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            (".docx",),
        ),
        Kind(
            "xlsx",
            "Excel spreadsheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            (".xlsx",),
        ),
        Kind(
            "pptx",
            "PowerPoint presentation",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            (".pptx",),
        ),
        Kind("odt", "OpenDocument text", "application/vnd.oasis.opendocument.text", (".odt",)),
        Kind("ods", "OpenDocument spreadsheet", "application/vnd.oasis.opendocument.spreadsheet", (".ods",)),
        Kind("txt", "Plain text", "text/plain; charset=utf-8", (".txt",)),
    )
}

ACCEPTED_WORDS = (
    "PDF, Word, Excel, PowerPoint, OpenDocument text or spreadsheet, PNG, JPEG, GIF, WebP or plain text"
)
#: what the file input offers (a hint to the browser only: the content decides)
ACCEPT_ATTRIBUTE = ",".join(ext for kind in KINDS.values() for ext in kind.extensions)

#: an office file's main part, found in its central directory
_OOXML_MAIN = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
_ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}
#: a real office file lists a few hundred members at most
MAX_ZIP_MEMBERS = 10_000
#: control characters plain text may hold: tab, line feed, form feed, carriage return
_TEXT_CONTROLS = {9, 10, 12, 13}


class NotAccepted(ValueError):
    """The content is not a kind we accept, or its name says another kind; the message is for the uploader."""


def detect(handle: BinaryIO) -> Kind:
    """The kind of file ``handle`` holds (read from the start; seekable). Raises :class:`NotAccepted`."""
    handle.seek(0)
    head = handle.read(16)
    if head.startswith(b"%PDF-"):
        return KINDS["pdf"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return KINDS["png"]
    if head.startswith(b"\xff\xd8\xff"):
        return KINDS["jpeg"]
    if head.startswith((b"GIF87a", b"GIF89a")):
        return KINDS["gif"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return KINDS["webp"]
    if head.startswith(b"PK\x03\x04"):
        return _office_kind(handle)
    if _is_plain_text(handle):
        return KINDS["txt"]
    raise NotAccepted(f"The file is not a type we accept. Upload a {ACCEPTED_WORDS} file.")


def _office_kind(handle: BinaryIO) -> Kind:
    handle.seek(0)
    try:
        with zipfile.ZipFile(handle) as archive:  # reads the central directory only
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise NotAccepted("The file holds too many parts to be an office document.")
            names = {m.filename for m in members}
            if "[Content_Types].xml" in names:
                for main, kind in _OOXML_MAIN.items():
                    if main in names:
                        return KINDS[kind]
            mimetype = next((m for m in members if m.filename == "mimetype"), None)
            # the only member ever read: ODF stores it first and uncompressed, a few dozen bytes
            if mimetype is not None and mimetype.file_size <= 100 and mimetype.compress_size <= 100:
                kind = _ODF_MIMETYPES.get(archive.read(mimetype).strip())
                if kind:
                    return KINDS[kind]
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        OSError,
        ValueError,
    ) as exc:
        if isinstance(exc, NotAccepted):
            raise
        raise NotAccepted(
            "The file looks like an office document but cannot be read. Save it again and "
            "upload the new copy."
        ) from None
    raise NotAccepted(f"The file is a zip archive, not an office document. Upload a {ACCEPTED_WORDS} file.")


def _is_plain_text(handle: BinaryIO) -> bool:
    """UTF-8 throughout, with no control characters but tabs and line ends (read in chunks, never whole)."""
    handle.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    seen = False
    while chunk := handle.read(64 * 1024):
        seen = True
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
        if any(ord(c) < 32 and ord(c) not in _TEXT_CONTROLS or ord(c) == 127 for c in text):
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return seen


def check_extension(kind: Kind, filename: str) -> None:
    """The name's extension must be one of the kind's, so what people see in the list is what they get."""
    suffix = Path(filename).suffix.lower()
    if suffix in kind.extensions:
        return
    wanted = " or ".join(kind.extensions)
    if kind.name == "txt" and suffix:
        # text named as something else is a web page, an SVG image, a script...: a kind we do not accept
        raise NotAccepted(f"Files ending in {suffix} are not accepted. Upload a {ACCEPTED_WORDS} file.")
    label = kind.label if kind.name == "txt" else ("an " if kind.label[0] in "AEIOU" else "a ") + kind.label
    if not suffix:
        raise NotAccepted(
            f"The file's name has no extension. It is {label.lower() if kind.name == 'txt' else label}: "
            f"name it with {wanted}."
        )
    raise NotAccepted(
        f"The file's name ends in {suffix} but the file is {label}. Rename it to end in {wanted}, "
        "or upload the right file."
    )


#: Unicode categories never kept in a name: controls, format characters (right-to-left overrides, zero widths),
#: surrogates, unassigned and private-use characters
_DROPPED = {"Cc", "Cf", "Cs", "Cn", "Co", "Zl", "Zp"}
MAX_NAME = 200


def clean_filename(raw: str) -> str:
    """The uploader's file name as shown and offered on download: the last part of any path, in NFC, without
    control or direction-changing characters, at most 200 characters (the extension kept). '' if nothing is left."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        " " if unicodedata.category(c) in ("Zs",) else c
        for c in name
        if unicodedata.category(c) not in _DROPPED
    )
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        if dot and 0 < len(suffix) <= 10:
            name = stem[: MAX_NAME - len(suffix) - 1].rstrip(" .") + "." + suffix
        else:
            name = name[:MAX_NAME]
    return name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one in RFC 5987 form: always downloaded, never
    shown in the browser, and no quote, semicolon or line end can break out of the header."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;%' else "_" for c in filename)
    fallback = fallback.strip() or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
