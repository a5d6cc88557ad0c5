"""The HTTP API and result page over one index, loaded once (FastAPI; ``pip install 'nacsearch[serve]'``).

Routes (OpenAPI at ``/docs`` and ``/openapi.json``):

* ``POST /api/search``            multipart ``image`` + form ``k``, ``radius`` -> hits
* ``GET  /api/search?id=N&k=&radius=`` -> hits for an indexed image
* ``GET  /api/info``              what ``nacsearch info --json`` prints
* ``GET  /api/images/{id}/thumbnail`` and ``/file`` -> only ids in the index, only indexed content
* ``GET  /``                      the result page (plain HTML/CSS/JS from ``static/``)

Every error is JSON ``{"error": reason, "detail": text}`` with a 4xx status; the server keeps running.
"""
from __future__ import annotations

import mimetypes
import os
import time
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from nacsearch.imageio import ImageError
from nacsearch.indexer.search import Hit
from nacsearch.indexer.service import FileChanged, LiveIndex, UnknownId

MAX_K = 1000
DEFAULT_MAX_UPLOAD = 32 * 1024 * 1024
STATIC = resources.files("nacsearch.web") / "static"


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def _hit(h: Hit) -> dict:
    return {**h.to_dict(), "name": os.path.basename(h.path), "thumbnail": f"/api/images/{h.id}/thumbnail",
            "file": f"/api/images/{h.id}/file"}


def _answer(live: LiveIndex, hits: list[Hit], t0: float, query: dict, k: int, radius: int | None) -> dict:
    return {"query": query, "k": k, "radius": radius, "records": live.current().store.count(),
            "took_ms": round((time.perf_counter() - t0) * 1000, 2), "hits": [_hit(h) for h in hits]}


def _check_radius(live: LiveIndex, radius: int | None) -> None:
    if radius is not None and not 0 <= radius <= live.bits:
        raise ApiError(422, "bad_radius", f"radius must be between 0 and {live.bits} (the code length), got {radius}")


def _image_error(e: ImageError) -> ApiError:
    status = 413 if e.reason == "too_large" else 400
    return ApiError(status, e.reason, str(e))


def create_app(live: LiveIndex, max_upload: int = DEFAULT_MAX_UPLOAD) -> FastAPI:
    """The ASGI app over an open :class:`LiveIndex` (closed when the app shuts down)."""
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        live.close()

    app = FastAPI(title="nacsearch", summary="Hamming search over NAC image codes", lifespan=lifespan)
    _errors(app)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    _search_routes(app, live, max_upload)
    _image_routes(app, live)
    _limit_uploads(app, max_upload)
    return app


def _search_routes(app: FastAPI, live: LiveIndex, max_upload: int) -> None:
    """POST /api/search (an uploaded image), GET /api/search (an indexed id) and GET /api/info."""
    @app.post("/api/search", summary="Search with an uploaded image")
    def search_upload(image: UploadFile = File(...), k: int = Form(10, ge=1, le=MAX_K),
                      radius: int | None = Form(None)) -> dict:
        t0 = time.perf_counter()
        _check_radius(live, radius)
        data = image.file.read(max_upload + 1)
        if len(data) > max_upload:
            raise ApiError(413, "too_large", f"upload exceeds {max_upload} bytes")
        try:
            hits = live.search_image(data, k, radius)
        except ImageError as e:
            raise _image_error(e) from None
        return _answer(live, hits, t0, {"upload": image.filename, "bytes": len(data)}, k, radius)

    @app.get("/api/search", summary="Search with an indexed image")
    def search_id(id: int = Query(..., ge=0), k: int = Query(10, ge=1, le=MAX_K),
                  radius: int | None = Query(None)) -> dict:
        t0 = time.perf_counter()
        _check_radius(live, radius)
        return _answer(live, live.search_id(id, k, radius), t0, {"id": id}, k, radius)

    @app.get("/api/info", summary="What the index holds (as `nacsearch info --json`)")
    def info() -> dict:
        return live.info()


def _image_routes(app: FastAPI, live: LiveIndex) -> None:
    """An indexed image's thumbnail, and the file itself while it is unchanged since indexing."""
    @app.get("/api/images/{id}/thumbnail", summary="JPEG thumbnail of an indexed image")
    def thumbnail(id: int, size: int = Query(192, ge=16, le=512)) -> Response:
        return Response(live.thumbnail(id, size), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=300"})

    @app.get("/api/images/{id}/file", summary="The indexed file itself (only if unchanged since indexing)")
    def file(id: int) -> Response:
        rec, data = live.file_bytes(id)
        kind = mimetypes.guess_type(rec.abspath)[0] or "application/octet-stream"
        return Response(data, media_type=kind, headers={"Content-Disposition": "inline"})


def _limit_uploads(app: FastAPI, max_upload: int) -> None:
    """Refuse a POST whose declared length is far above ``max_upload`` before its body is read (413)."""
    @app.middleware("http")
    async def limit_upload(request: Request, call_next):
        size = request.headers.get("content-length")
        if request.method == "POST" and size and size.isdigit() and int(size) > max_upload + 65536:
            return _json(413, "too_large", f"upload exceeds {max_upload} bytes")
        return await call_next(request)


def _json(status: int, error: str, detail) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


def _errors(app: FastAPI) -> None:
    """One JSON shape for every error."""
    handlers = {
        ApiError: lambda r, e: _json(e.status, e.error, e.detail),
        UnknownId: lambda r, e: _json(404, "unknown_id", f"id {e.args[0]} is not in the index"),
        FileChanged: lambda r, e: _json(409, "file_changed", str(e)),
        ImageError: lambda r, e: _json(404 if e.reason == "unreadable" else 422, e.reason, str(e)),
        RequestValidationError: lambda r, e: _json(422, "invalid_request", _validation(e)),
        HTTPException: lambda r, e: _json(e.status_code, "http_error", e.detail),
    }
    for exc, fn in handlers.items():
        app.add_exception_handler(exc, fn)


def _validation(e: RequestValidationError) -> str:
    parts = []
    for err in e.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg')}")
    return "; ".join(parts)


def serve(index_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000, device: str = "auto",
          max_upload: int = DEFAULT_MAX_UPLOAD, log_level: str = "info") -> None:
    """Load the index and model once, then serve until Ctrl-C (uvicorn shuts down cleanly)."""
    import uvicorn

    live = LiveIndex(index_dir, device)
    uvicorn.run(create_app(live, max_upload), host=host, port=port, log_level=log_level)
