"""`zoo serve`: exports behind TensorFlow Serving's REST API, on KServe's model server.

KServe's Python `ModelServer` (uvicorn and FastAPI, its V1 protocol — TensorFlow Serving's
`POST /v1/models/NAME:predict` —, model readiness, `/metrics`, signal handling) runs the
HTTP side; each export folder is a `kserve.Model` (`ExportModel`) whose `predict` answers
the TF Serving request body. The parts of TF Serving's REST API that KServe's V1 protocol
lacks are routes added to KServe's app: `GET /v1/models/NAME` as TF Serving's version
status, `GET /v1/models/NAME[/versions/N]/metadata` (the signatures),
`POST /v1/models/NAME/versions/N:predict`. Errors are `{"error": "..."}` with a 4xx status
(`zoo.serving.requests.RequestError`), 5xx only for faults of the server.

The server starts listening only once every model's newest version is loaded and warmed
up; a thread then looks for new versions every `poll_seconds` (`ServedModel.refresh`).
"""

import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from zoo.serving.batching import Batcher
from zoo.serving.requests import RequestError, format_response, parse_body, parse_predict
from zoo.serving.versions import ServedModel

log = logging.getLogger("zoo.serving")

DEFAULT_PORT = 8501  # TensorFlow Serving's REST port
MAX_REQUEST_BYTES = 4 * 2**20
MAX_REQUEST_ROWS = 256
MAX_BATCH_ROWS = 64


def _kserve():
    """Import KServe with an empty command line: `kserve.model_server` parses `sys.argv` at
    import, and `zoo serve`'s own arguments are not its."""
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        import kserve
        import kserve.model_server
    finally:
        sys.argv = argv
    return kserve


def export_model_class():
    kserve = _kserve()

    class ExportModel(kserve.Model):
        """One export folder served under `name`: `predict` answers a TF Serving body."""

        def __init__(self, served: ServedModel, *, max_request_bytes, max_request_rows, batcher):
            super().__init__(served.name)
            self.served = served
            self.max_request_bytes = max_request_bytes
            self.max_request_rows = max_request_rows
            self.batcher = batcher
            self.ready = served.current is not None

        async def predict(self, payload, headers=None, response_headers=None):
            return await self.answer(payload, version=None)

        async def answer(self, payload, version: int | None) -> dict:
            request = parse_body(payload, self.max_request_bytes)
            loaded = self.served.version(version)
            signature_name = request.get("signature_name") or "serving_default"
            if not isinstance(signature_name, str) or signature_name not in loaded.signatures:
                raise RequestError(
                    400,
                    f"Model {self.name!r} has no signature {signature_name!r}; its "
                    f"signatures: {', '.join(sorted(loaded.signatures))}.",
                )
            arrays, row_format = parse_predict(
                request, loaded.inputs[signature_name], max_rows=self.max_request_rows
            )
            outputs = await self.batcher.run(loaded, signature_name, arrays)
            return format_response(outputs, row_format)

    return ExportModel


def build_models(
    paths: Sequence[str | Path],
    names: Sequence[str] | None = None,
    *,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    max_request_rows: int = MAX_REQUEST_ROWS,
    max_batch_rows: int = MAX_BATCH_ROWS,
) -> list:
    """An `ExportModel` per export folder, its newest version loaded and warmed up."""
    names = list(names or [])
    if len(names) > len(paths):
        raise ValueError(f"{len(names)} model names for {len(paths)} export folders.")
    names += [Path(path).resolve().name for path in paths[len(names) :]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"Two export folders would be served under the same name {duplicates}; give "
            "each a --model-name."
        )
    served = [ServedModel(name, Path(path)) for name, path in zip(names, paths)]
    for model in served:
        if not model.refresh():
            raise ValueError(
                f"No version of {model.directory} could be loaded: "
                + "; ".join(f"version {v}: {e}" for v, e in model.failed.items())
            )
    ExportModel = export_model_class()
    return [
        ExportModel(
            model,
            max_request_bytes=max_request_bytes,
            max_request_rows=max_request_rows,
            batcher=Batcher(max_batch_rows),
        )
        for model in served
    ]


def add_routes(app, models: Sequence, max_request_bytes: int) -> None:
    """TF Serving's routes that KServe's V1 protocol lacks, and its error bodies, on `app`.
    Added before KServe adds its own, so `GET /v1/models/NAME` is TF Serving's status."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    by_name = {model.name: model for model in models}

    def model_named(name: str):
        if name not in by_name:
            raise RequestError(
                404, f"Model {name!r} is not served; this server serves {sorted(by_name)}."
            )
        return by_name[name]

    def version_number(text: str) -> int:
        if not text.isdigit():
            raise RequestError(400, f"A version is a positive integer; received {text!r}.")
        return int(text)

    async def request_error(_, error: RequestError):
        return JSONResponse(status_code=error.status, content={"error": error.message})

    app.add_exception_handler(RequestError, request_error)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_request_bytes:
            return JSONResponse(
                status_code=413,
                content={
                    "error": f"The request body is {length} bytes; this server takes at most "
                    f"{max_request_bytes}."
                },
            )
        return await call_next(request)

    @app.get("/v1/models/{name}")
    async def status(name: str):
        return model_named(name).served.status()

    @app.get("/v1/models/{name}/versions/{version}")
    async def version_status(name: str, version: str):
        model = model_named(name)
        model.served.version(version_number(version))
        return model.served.status()

    @app.get("/v1/models/{name}/metadata")
    async def metadata(name: str):
        model = model_named(name)
        return model.served.version(None).metadata(name)

    @app.get("/v1/models/{name}/versions/{version}/metadata")
    async def version_metadata(name: str, version: str):
        model = model_named(name)
        return model.served.version(version_number(version)).metadata(name)

    @app.post("/v1/models/{name}/versions/{version}:predict")
    async def version_predict(name: str, version: str, request: Request):
        model = model_named(name)
        return await model.answer(await request.body(), version_number(version))


def watch(models: Sequence, poll_seconds: float) -> threading.Thread:
    """A daemon thread that swaps in each model's new versions as they appear."""

    def loop():
        while True:
            time.sleep(poll_seconds)
            for model in models:
                try:
                    model.served.refresh()
                except Exception:  # noqa: BLE001  (logged; keep watching)
                    log.exception("%s: looking for a new version failed", model.name)

    thread = threading.Thread(target=loop, name="zoo-versions", daemon=True)
    thread.start()
    return thread


def serve(
    paths: Sequence[str | Path],
    *,
    port: int = DEFAULT_PORT,
    names: Sequence[str] | None = None,
    poll_seconds: float = 1.0,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    max_request_rows: int = MAX_REQUEST_ROWS,
    max_batch_rows: int = MAX_BATCH_ROWS,
) -> None:
    """Serve the export folders `paths` on `port` until interrupted (blocks)."""
    models = build_models(
        paths,
        names,
        max_request_bytes=max_request_bytes,
        max_request_rows=max_request_rows,
        max_batch_rows=max_batch_rows,
    )
    kserve = _kserve()
    add_routes(kserve.model_server.app, models, max_request_bytes)
    watch(models, poll_seconds)
    for model in models:
        current = model.served.current
        log.info(
            "serving %s version %d (%s) at http://localhost:%d/v1/models/%s",
            model.name,
            current.version,
            ", ".join(sorted(current.signatures)),
            port,
            model.name,
        )
    server = kserve.ModelServer(
        http_port=port, enable_grpc=False, workers=1, enable_latency_logging=False
    )
    # A log line per request (KServe's timings, uvicorn's access log) costs more than the
    # request on a small machine; as TF Serving, log versions and errors only.
    for name in ("kserve.trace", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    server.start(models)
