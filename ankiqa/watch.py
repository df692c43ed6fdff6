"""`ankiqa watch`: export again whenever a deck file, a media file or the settings change.

Changes are gathered for a moment (watchfiles' debounce) and then exported at once;
problems are printed and the watch goes on. Ctrl-C ends it cleanly: every file ankiqa
writes is written whole or not at all (`atomic`). With `serve`, the preview is served on
127.0.0.1, and the open page reloads itself after each rebuild.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import watchfiles

from .build import export
from .config import CONFIG_FILE, PYPROJECT, ConfigError, find_settings
from .diagnostics import DeckError
from .preview import preview_html
from .state import STATE_FILE

# The page knows its build's number, asks for the latest twice a second, and reloads
# when they differ.
RELOAD_SCRIPT = """<script>
const build = "{build}";
setInterval(async () => {{
  try {{
    const latest = await (await fetch("/build", {{cache: "no-store"}})).text();
    if (latest !== build) location.reload();
  }} catch (error) {{}}  // the watch has ended
}}, 500);
</script>"""


class _Preview:
    """The page being served, and its build number."""

    def __init__(self) -> None:
        self.build = 0
        self.page = "<p>Building…</p>" + RELOAD_SCRIPT.format(build=0)
        self.lock = threading.Lock()

    def update(self, page: str) -> None:
        with self.lock:
            self.build += 1
            script = RELOAD_SCRIPT.format(build=self.build)
            self.page = page.replace("</body>", script + "</body>")


def watch(
    paths: Sequence[Path],
    *,
    dist: Path | None = None,
    serve: bool = False,
    port: int = 8765,
    say: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    """Export `paths` now and after every change, until Ctrl-C or `stop` is set."""
    preview = _Preview()
    server = _serve(preview, port) if serve else None
    if server is not None:
        say(f"serving the preview on http://127.0.0.1:{server.server_address[1]}/")
    try:
        built = False
        # The first build waits for the watcher to run, so that no edit falls between.
        for changes in watchfiles.watch(
            *_watched(paths),
            watch_filter=_relevant,
            stop_event=stop,
            raise_interrupt=False,
            yield_on_timeout=True,
            rust_timeout=200,
        ):
            if changes or not built:
                _rebuild(paths, dist, preview if serve else None, say)
                built = True
    except KeyboardInterrupt:  # Ctrl-C during an export: it wrote nothing, the watch ends
        pass
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def _rebuild(
    paths: Sequence[Path], dist: Path | None, preview: _Preview | None, say: Callable[[str], None]
) -> None:
    try:
        result = export(paths, dist=dist)
    except DeckError as error:
        for diagnostic in error.diagnostics:
            say(str(diagnostic))
        say(f"ankiqa: {len(error.diagnostics)} errors, nothing written; watching")
        return
    except OSError as error:
        say(f"ankiqa: {error}; watching")
        return
    for path in result.written:
        say(f"wrote {path}")
    if preview is not None:
        preview.update(preview_html(paths))


def _watched(paths: Sequence[Path]) -> list[Path]:
    """The paths, and the settings file their project has."""
    watched = [Path(path) for path in paths]
    try:
        settings = find_settings(watched[0]) if watched else None
    except ConfigError:
        settings = None
    if settings is not None and settings.root is not None:
        for name in (CONFIG_FILE, PYPROJECT):
            if (settings.root / name).is_file():
                watched.append(settings.root / name)
    return watched


def _relevant(change: watchfiles.Change, path: str) -> bool:
    """Changes to deck files, media and settings; not ankiqa's own writes."""
    name = Path(path).name
    return name != STATE_FILE and not name.startswith(".") and not name.endswith(".apkg")


def _serve(preview: _Preview, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with preview.lock:
                body = str(preview.build) if self.path == "/build" else preview.page
            data = body.encode("utf-8")
            self.send_response(200)
            kind = "text/plain" if self.path == "/build" else "text/html"
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the watch prints what it did, not every request."""

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
