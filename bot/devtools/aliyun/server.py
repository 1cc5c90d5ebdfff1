"""The stand-in's HTTP front: RPC-style ``POST /``, ACS3 signature check, JSON answers."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from bot.devtools.aliyun.model import ApiError, Instance
from bot.devtools.aliyun.operations import Cas
from bot.devtools.aliyun.signature import CLOCK_SKEW, SignatureProblem, verify

API_VERSION = "2020-04-07"
HOST_ID = "cas.aliyuncs.com"
#: A request body larger than this is refused before it is read.
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Call:
    """One accepted (correctly signed) API call, for tests to inspect."""

    action: str
    params: dict[str, str]
    access_key_id: str
    error: str = ""  # the error code answered, for a signed call the API refused


@dataclass
class _Injected:
    code: str
    message: str
    status: int
    times: int
    after: bool = False  # run the operation, then answer the error (a lost answer)


class CasStandIn:
    """A local CAS API on 127.0.0.1 that checks signatures; use as a context manager."""

    def __init__(
        self,
        data_dir: Path,
        *,
        credentials: Mapping[str, str],
        validation_delay: float = 0.2,
        withdraw_refusal: float = 0.3,
        cancel_delay: float = 0.1,
    ) -> None:
        self.cas = Cas(
            data_dir,
            validation_delay=validation_delay,
            withdraw_refusal=withdraw_refusal,
            cancel_delay=cancel_delay,
        )
        self.credentials = dict(credentials)
        self.calls: list[Call] = []
        #: Correctly signed calls the API refused (wrong state, injected errors...).
        self.refused: list[Call] = []
        self._injected: dict[str, list[_Injected]] = {}
        self._nonces: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """What CERTDESK_ALIYUN_ENDPOINT should be to reach this stand-in."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def root_pem(self) -> bytes:
        """The stand-in CA's root certificate, to verify issued chains against."""
        return (self.cas.authority.directory / "root.pem").read_bytes()

    def start(self) -> CasStandIn:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (if started) and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> CasStandIn:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def add_instance(self, instance_id: str, product: str, **fields: object) -> Instance:
        """Seed a purchased, not yet applied instance (see ``model.Instance`` for fields)."""
        return self.cas.add_instance(Instance(instance_id, product, **fields))  # type: ignore[arg-type]

    def inject(
        self, action: str, code: str, message: str, *, status: int = 400, times: int = 1
    ) -> None:
        """Answer the next ``times`` calls of ``action`` with this error (``*`` = any action)."""
        with self._lock:
            self._injected.setdefault(action, []).append(_Injected(code, message, status, times))

    def lose_answer(self, action: str) -> None:
        """Run the next ``action`` call, then answer 503 as if the answer were lost on the way."""
        with self._lock:
            self._injected.setdefault(action, []).append(
                _Injected("ServiceUnavailable", "The request has failed.", 503, 1, after=True)
            )

    def throttle(self, action: str, *, times: int = 1) -> None:
        """Answer the next calls of ``action`` as the service does past the user's rate limit."""
        self.inject(
            action, "Throttling.User", "Request was denied due to user flow control.", times=times
        )

    def actions(self) -> list[str]:
        """The actions accepted so far, in order."""
        return [c.action for c in self.calls]

    def last(self, action: str) -> Call:
        """The most recent accepted call of ``action``."""
        return next(c for c in reversed(self.calls) if c.action == action)

    def answer(self, *, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]:
        """Check and run one request; return the HTTP status and the JSON body."""
        request_id = str(uuid.uuid4()).upper()
        split = urlsplit(path)
        query = parse_qsl(split.query, keep_blank_values=True)
        try:
            if split.path != "/":
                raise ApiError("InvalidUri", "Specified path is not valid.", status=404)
            signed = verify(
                method="POST",
                path=split.path,
                query=query,
                headers=headers,
                body=body,
                secrets=self.credentials,
            )
            self._check_nonce(signed.nonce)
            if headers.get("x-acs-version") != API_VERSION:
                raise ApiError("InvalidVersion", "Specified parameter Version is not valid.")
            action = headers.get("x-acs-action", "")
            params = dict(query)
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            try:
                lost = self._raise_injected(action)
                result = self.cas.call(action, params)
                if lost is not None:
                    raise lost
            except ApiError as error:
                with self._lock:
                    self.refused.append(Call(action, params, signed.access_key_id, error.code))
                raise
            with self._lock:
                self.calls.append(Call(action, params, signed.access_key_id))
            return 200, {"RequestId": request_id, **result}
        except (ApiError, SignatureProblem) as error:
            return error.status, {
                "RequestId": request_id,
                "HostId": HOST_ID,
                "Code": error.code,
                "Message": error.message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}",
            }

    def _check_nonce(self, nonce: str) -> None:
        now = time.monotonic()
        with self._lock:
            for seen, when in list(self._nonces.items()):
                if now - when > CLOCK_SKEW.total_seconds():
                    del self._nonces[seen]
            if nonce in self._nonces:
                raise ApiError("SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces[nonce] = now

    def _raise_injected(self, action: str) -> ApiError | None:
        """Raise the error injected for ``action``; return it instead if it comes after."""
        with self._lock:
            for key in (action, "*"):
                queue = self._injected.get(key)
                if queue:
                    head = queue[0]
                    head.times -= 1
                    if head.times <= 0:
                        queue.pop(0)
                    error = ApiError(head.code, head.message, status=head.status)
                    if head.after:
                        return error
                    raise error
        return None


def _handler(standin: CasStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: without TCP_NODELAY, Nagle and the client's
        # delayed ACK add ~40 ms to every keep-alive answer.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"Code": "RequestTooLarge", "Message": "Request body too large."})
                return
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = standin.answer(path=self.path, headers=headers, body=body)
            self._send(status, answer)

        def do_GET(self) -> None:  # noqa: N802
            self._send(400, {"Code": "UnsupportedHTTPMethod", "Message": "Use POST."})

        def _send(self, status: int, answer: dict) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the tests read ``standin.calls``; stderr noise helps nobody

    return Handler
