"""The `zoo` command: `zoo list`, `zoo info PATH`, `zoo export RUN_OR_PRESET`,
`zoo predict PATH TEXT...` (zoo.commands), `zoo serve PATH...`, `zoo demo-web PATH...`.

Errors are one line on stderr and exit status 1; `--debug` anywhere on the line (or
`ZOO_DEBUG=1`) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from zoo import quiet

# Before TensorFlow is imported. Nothing here imports it (nor Keras) until a command runs, so
# that `zoo --help` and usage errors answer at once; the commands that need it import it
# inside `zoo.quiet.quiet_start_up`, which drops the lines this level cannot silence.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _add_serve(subparsers) -> None:
    from zoo.serving.server import (
        DEFAULT_PORT,
        MAX_BATCH_ROWS,
        MAX_REQUEST_BYTES,
        MAX_REQUEST_ROWS,
    )

    parser = subparsers.add_parser(
        "serve",
        help="serve exports over HTTP with TensorFlow Serving's REST API",
        description="Serve export folders (saved_models/NAME, holding 1/, 2/, ...) with "
        "TensorFlow Serving's REST API: POST /v1/models/NAME:predict, GET /v1/models/NAME, "
        "GET /v1/models/NAME/metadata. The newest version of each is served, warmed up "
        "first; new versions are picked up as they appear.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="an export folder")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP port (8501)")
    parser.add_argument(
        "--model-name",
        action="append",
        default=[],
        metavar="NAME",
        help="the name to serve a PATH under (default: its folder's name); once per PATH, in order",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=1.0,
        help="how often to look for new versions (1.0)",
    )
    parser.add_argument(
        "--max-batch-rows",
        type=int,
        default=MAX_BATCH_ROWS,
        help=f"most rows of concurrent requests run as one call ({MAX_BATCH_ROWS})",
    )
    parser.add_argument(
        "--max-request-rows",
        type=int,
        default=MAX_REQUEST_ROWS,
        help=f"most examples in one request ({MAX_REQUEST_ROWS})",
    )
    parser.add_argument(
        "--max-request-bytes",
        type=int,
        default=MAX_REQUEST_BYTES,
        help=f"largest request body ({MAX_REQUEST_BYTES})",
    )
    parser.set_defaults(run=_serve)


def _serve(args) -> None:
    from zoo.serving.server import serve

    for name in ("port", "max_batch_rows", "max_request_rows", "max_request_bytes"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1.")
    if args.poll_seconds <= 0:
        raise ValueError("--poll-seconds must be positive.")
    serve(
        args.paths,
        port=args.port,
        names=args.model_name,
        poll_seconds=args.poll_seconds,
        max_request_bytes=args.max_request_bytes,
        max_request_rows=args.max_request_rows,
        max_batch_rows=args.max_batch_rows,
    )


def _add_demo_web(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo-web",
        help="a browser demo (Gradio) over exports",
        description="A browser demo over export folders: translate, generate, fill in the "
        "blank, classify — a tab per export, at http://127.0.0.1:PORT.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="an export folder")
    parser.add_argument("--port", type=int, default=7860, help="HTTP port (7860)")
    parser.add_argument(
        "--attention",
        metavar="RUN_DIR",
        help="a translation run folder (its checkpoint and tokenizer): draws the attention "
        "heatmap of each translation, which an export alone cannot give",
    )
    parser.set_defaults(run=_demo_web)


def _demo_web(args) -> None:
    from zoo.serving.demo_web import demo_web

    demo_web(args.paths, port=args.port, attention=args.attention)


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(prog="zoo", description="The zoo model zoo's command.")
    main_parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    subparsers = main_parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    from zoo.commands import add_commands

    add_commands(subparsers)
    _add_serve(subparsers)
    _add_demo_web(subparsers)
    return main_parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args = parser().parse_args([argument for argument in argv if argument != "--debug"])
    args.debug = debug or os.environ.get("ZOO_DEBUG") == "1"
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if quiet.wanted():  # TensorFlow's INFO lines ("Assets written to ...") are for its developers
        logging.getLogger("tensorflow").setLevel(logging.WARNING)
    try:
        args.run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one line for users; the traceback with --debug
        if args.debug:
            raise
        print(f"zoo {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
