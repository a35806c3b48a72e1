"""A local LTI 1.3 platform for the tests: an OAuth 2 token endpoint and line items' score endpoints.

Written from the specifications, not from nngrade: IMS Security Framework 1.0 section 4.1 (the
client-credentials grant with a JWT assertion, RFC 7523 and RFC 6749 section 5), and LTI Assignment
and Grade Services 2.0 (the score publish service). It checks what a platform checks: the form and
grant type, the assertion's RS256 signature against the tool's registered public key (verified here
with `cryptography` directly, not PyJWT), its claims (iss = sub = the client id, aud = the token
endpoint, exp in the future, iat not in the future, a jti never seen before), the scope, and on each
score the bearer token, the media type and the score's fields. Every refusal is kept in `errors`.

Faults can be queued per path: an HTTP status to answer (with an optional Retry-After), or "drop"
to close the connection without an answer.
"""
from __future__ import annotations

import base64
import json
import re
import secrets
import ssl
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPES = {SCORE_SCOPE, "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
          "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
ACTIVITY = {"Initialized", "Started", "InProgress", "Submitted", "Completed"}
GRADING = {"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
SCORE_FIELDS = {"userId", "scoreGiven", "scoreMaximum", "comment", "activityProgress", "gradingProgress",
                "timestamp", "scoringUserId", "submission"}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(Z|[+-]\d{2}:\d{2})")


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Rejected(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(f"{status} {error}: {description}")
        self.status, self.error, self.description = status, error, description


class Platform:
    def __init__(self, public_key, client_id: str = "nngrade-tool", lineitems=("1", "2"), token_uses: int | None = None,
                 tls: tuple[str, str] | None = None):
        """`tls`: (certificate file, key file) to serve https on, as a real platform does."""
        self.public_key, self.client_id, self.lineitems, self.token_uses = public_key, client_id, lineitems, token_uses
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        # A certificate names a host: https goes to localhost, plain http to the loopback address itself.
        where = "https://localhost" if tls is not None else "http://127.0.0.1"
        self.base = f"{where}:{self.server.server_address[1]}"
        self.token_url = f"{self.base}/auth/token"
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []          # (path with query, answer) of every request
        self.assertions: list[dict] = []                   # the verified claims of every token granted
        self.scores: dict[str, list[dict]] = {}            # line item -> the scores it accepted, in order
        self.score_queries: list[str] = []
        self.errors: list[str] = []
        self.faults: dict[str, list] = {}
        self.tokens: dict[str, dict] = {}
        self.jtis: set[str] = set()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def lineitem(self, number: str = "1", query: str = "") -> str:
        return f"{self.base}/api/lineitems/{number}" + (f"?{query}" if query else "")

    def __enter__(self) -> "Platform":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the endpoints ---------------------------------------------------------------------------

    def token(self, headers, body: bytes) -> tuple[int, dict]:
        if headers.get("Content-Type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise Rejected(400, "invalid_request", "the token request must be a form")
        form = parse_qs(body.decode("ascii"), strict_parsing=True)
        if any(len(values) != 1 for values in form.values()):
            raise Rejected(400, "invalid_request", "a parameter given twice")
        form = {key: values[0] for key, values in form.items()}
        if form.get("grant_type") != "client_credentials":
            raise Rejected(400, "unsupported_grant_type", "only client_credentials")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Rejected(400, "invalid_request", "client_assertion_type must be jwt-bearer")
        claims = self.verify(form.get("client_assertion", ""))
        requested = form.get("scope", "").split()
        if not requested or any(scope not in SCOPES for scope in requested):
            raise Rejected(400, "invalid_scope", f"unknown scope in {requested}")
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = {"scope": set(requested), "uses": 0}
            self.assertions.append(claims)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "scope": " ".join(requested)}

    def verify(self, assertion: str) -> dict:
        parts = assertion.split(".")
        if len(parts) != 3:
            raise Rejected(400, "invalid_request", "client_assertion is not a JWT")
        try:
            header, claims = json.loads(_b64url(parts[0])), json.loads(_b64url(parts[1]))
            signature = _b64url(parts[2])
        except ValueError:
            raise Rejected(400, "invalid_request", "client_assertion is not a JWT") from None
        if header.get("alg") != "RS256":
            raise Rejected(401, "invalid_client", f"alg {header.get('alg')}, not RS256")
        try:
            self.public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"), padding.PKCS1v15(),
                                   hashes.SHA256())
        except InvalidSignature:
            raise Rejected(401, "invalid_client", "the signature does not verify with the registered key") from None
        if claims.get("iss") != self.client_id or claims.get("sub") != self.client_id:
            raise Rejected(401, "invalid_client", f"iss/sub {claims.get('iss')}/{claims.get('sub')} is not the client id")
        audience = claims.get("aud")
        if not (audience == self.token_url or isinstance(audience, list) and self.token_url in audience):
            raise Rejected(400, "invalid_grant", f"aud {audience} is not the token endpoint")
        now = time.time()
        exp, iat, jti = claims.get("exp"), claims.get("iat"), claims.get("jti")
        if not isinstance(exp, int) or exp <= now:
            raise Rejected(400, "invalid_grant", "exp missing or past")
        if not isinstance(iat, int) or iat > now + 60 or exp - iat > 3600:
            raise Rejected(400, "invalid_grant", "iat missing, in the future, or too long before exp")
        with self.lock:
            if not isinstance(jti, str) or not jti or jti in self.jtis:
                raise Rejected(400, "invalid_grant", "jti missing or used before")
            self.jtis.add(jti)
        return {"header": header, **claims}

    def score(self, lineitem: str, query: str, headers, body: bytes) -> tuple[int, dict | None]:
        authorization = headers.get("Authorization", "")
        token = authorization[len("Bearer "):] if authorization.startswith("Bearer ") else ""
        with self.lock:
            grant = self.tokens.get(token)
            if grant is not None:
                grant["uses"] += 1
            expired = grant is not None and self.token_uses is not None and grant["uses"] > self.token_uses
        if grant is None or expired or SCORE_SCOPE not in grant["scope"]:
            raise Rejected(401, "invalid_token", "no valid bearer token for the score scope")
        if headers.get("Content-Type", "").split(";")[0].strip() != SCORE_MEDIA_TYPE:
            raise Rejected(415, "unsupported_media_type", f"a score is {SCORE_MEDIA_TYPE}")
        if lineitem not in self.lineitems:
            raise Rejected(404, "not_found", f"no line item {lineitem}")
        try:
            score = json.loads(body.decode("utf-8"))
        except ValueError:
            raise Rejected(400, "invalid_request", "the score is not JSON") from None
        problem = self.score_problem(score)
        if problem:
            raise Rejected(400, "invalid_request", problem)
        with self.lock:
            self.scores.setdefault(lineitem, []).append(score)
            self.score_queries.append(query)
        return 204, None

    @staticmethod
    def score_problem(score) -> str:
        if not isinstance(score, dict):
            return "not an object"
        extra = [key for key in score if key not in SCORE_FIELDS and not key.startswith(("http://", "https://"))]
        if extra:
            return f"unknown fields {extra}"
        if not isinstance(score.get("userId"), str) or not score["userId"]:
            return "no userId"
        if score.get("activityProgress") not in ACTIVITY or score.get("gradingProgress") not in GRADING:
            return "activityProgress or gradingProgress not one of the AGS values"
        stamp = score.get("timestamp")
        if not isinstance(stamp, str) or not TIMESTAMP.fullmatch(stamp):
            return "timestamp is not ISO 8601 with sub-second precision and an offset"
        datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if "scoreGiven" in score:
            given, maximum = score["scoreGiven"], score.get("scoreMaximum")
            if isinstance(given, bool) or not isinstance(given, (int, float)) or given < 0:
                return "scoreGiven is not a number of 0 or more"
            if isinstance(maximum, bool) or not isinstance(maximum, (int, float)) or maximum <= 0:
                return "scoreGiven without a scoreMaximum of more than 0"
        return ""

    # --- HTTP ------------------------------------------------------------------------------------

    def _handler(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                with platform.lock:
                    queued = platform.faults.get(parts.path) or []
                    fault = queued.pop(0) if queued else None
                if fault == "drop":
                    platform.requests.append((self.path, "dropped"))
                    self.close_connection = True      # no answer at all: the client sees the connection end
                    return
                if fault is not None:
                    status, retry_after = fault if isinstance(fault, tuple) else (fault, None)
                    platform.requests.append((self.path, str(status)))
                    self.answer(status, {"error": "temporarily_unavailable"}, retry_after)
                    return
                try:
                    match = re.fullmatch(r"/api/lineitems/([^/]+)/scores", parts.path)
                    if parts.path == "/auth/token":
                        status, data = platform.token(self.headers, body)
                    elif match:
                        status, data = platform.score(match[1], parts.query, self.headers, body)
                    else:
                        raise Rejected(404, "not_found", parts.path)
                except Rejected as rejected:
                    with platform.lock:
                        platform.errors.append(str(rejected))
                    status, data = rejected.status, {"error": rejected.error, "error_description": rejected.description}
                platform.requests.append((self.path, str(status)))
                self.answer(status, data)

            def answer(self, status: int, data: dict | None, retry_after: str | None = None) -> None:
                payload = json.dumps(data).encode() if data is not None else b""
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
                if payload:
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
