"""Document pages: upload onto the case page, download, remove with a reason."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Stream, Template

from caseframe.core.auth.actor import Actor
from caseframe.core.cases import service as cases
from caseframe.core.cases.web import case_page_context
from caseframe.core.context import Context
from caseframe.core.documents import service as documents
from caseframe.core.documents.types import content_disposition
from caseframe.core.errors import ValidationFailed
from caseframe.core.web.pages import form_data, form_text, page, see_other

#: room for the form's other fields and the multipart framing around the file itself
FORM_OVERHEAD = 64 * 1024


async def _case_page_with(
    request: Request, ctx: Context, actor: Actor, case_id: int, status: int, **extra: Any
) -> Template:
    context = await case_page_context(request, ctx, actor, case_id)
    return await page(request, "cases/show.html", **context, **extra, error_title=True, status_code=status)


def document_pages(max_bytes: int) -> type[Controller]:
    """The controller, with the upload route's body limit taken from the settings (Litestar reads it per route)."""

    class DocumentPages(Controller):
        path = "/cases/{case_id:int}/documents"
        include_in_schema = False

        # the body is parsed as it arrives, files spooled to disk, never read whole into memory (input_guard)
        @post("/", opt={"upload": True}, request_max_body_size=max_bytes + FORM_OVERHEAD)
        async def upload(
            self, request: Request, ctx: Context, actor: Actor, case_id: int
        ) -> Template | Redirect:
            # a reader or a stranger is refused before anything about the upload is looked at
            await cases.workable_row(actor, case_id)
            form = await request.form()
            files = form.getall("file", [])
            upload = files[0] if len(files) == 1 else None
            # a form without the field (a crafted post, a JSON body) is "none chosen", never a KeyError and a 500
            given = form.getall("sensitivity", [])
            # one level, as the page sends it: two (a crafted form) are not guessed between
            sensitivity = given[0] if len(given) == 1 and isinstance(given[0], str) else ""
            try:
                if len(files) > 1:
                    raise ValidationFailed(
                        "Upload one file at a time",
                        errors=[{"field": "/file", "message": "Upload one file at a time"}],
                    )
                if not isinstance(upload, UploadFile) or not upload.filename:
                    raise ValidationFailed(
                        "Choose a file to upload",
                        errors=[{"field": "/file", "message": "Choose a file to upload"}],
                    )
                await documents.add_document(ctx, actor, case_id, upload.file, upload.filename, sensitivity)
            except (ValidationFailed, documents.Unavailable) as exc:
                message = exc.errors[0]["message"] if exc.errors else exc.message
                if isinstance(exc, documents.Unavailable):
                    message = exc.message
                status = exc.status if exc.status != 422 else 400
                return await _case_page_with(
                    request,
                    ctx,
                    actor,
                    case_id,
                    status,
                    document_error=message,
                    document_sensitivity=sensitivity,
                )
            finally:
                for value in form.values():
                    if isinstance(value, UploadFile):
                        await value.close()
            return see_other(f"/cases/{case_id}?done=document-added#documents")

        @get("/{document_id:int}")
        async def download(self, actor: Actor, case_id: int, document_id: int) -> Stream:
            document, content = await documents.read_document(actor, case_id, document_id)
            return Stream(
                content,
                media_type=document["content_type"],
                headers={
                    "Content-Disposition": content_disposition(document["filename"]),
                    "Content-Length": str(document["size"]),
                    "Cache-Control": "no-store",
                    "Pragma": "no-cache",
                    "X-Content-Type-Options": "nosniff",
                },
            )

        @post("/{document_id:int}/remove")
        async def remove(
            self, request: Request, ctx: Context, actor: Actor, case_id: int, document_id: int
        ) -> Template | Redirect:
            data = await form_data(request)
            try:
                await documents.remove_document(ctx, actor, case_id, document_id, form_text(data, "reason"))
            except ValidationFailed as exc:
                return await _case_page_with(
                    request, ctx, actor, case_id, 400, remove_errors={document_id: exc.errors[0]["message"]}
                )
            except documents.Unavailable as exc:
                return await _case_page_with(
                    request, ctx, actor, case_id, exc.status, remove_errors={document_id: exc.message}
                )
            return see_other(f"/cases/{case_id}?done=document-removed#documents")

    return DocumentPages


__all__ = ["document_pages"]
