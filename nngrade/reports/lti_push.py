"""`grade.py lti push OUT --platform platform.json`: send a graded folder's LTI scores to an LTI 1.3 platform.

The scores are the files bulk wrote in `OUT/lti/` (nngrade.reports.writers.lti: one AGS score per student).
The push speaks LTI Advantage's service protocol (IMS Security Framework 1.0, section 4.1; LTI
Assignment and Grade Services 2.0, the score publish service) with the standard library only:

1. an OAuth 2 access token, by the client-credentials grant with a JWT assertion (RFC 7523): a JWT
   signed RS256 with the tool's private key, whose `iss` and `sub` are the tool's client id, `aud` the
   token endpoint, with `iat`, `exp` (5 minutes on) and a fresh `jti`; scope
   `https://purl.imsglobal.org/spec/lti-ags/scope/score`;
2. each score POSTed to `{lineitem}/scores` as `application/vnd.ims.lis.v1.score+json`, bearer token.

A 429, a 5xx or a connection that fails is tried again with exponential back-off (a Retry-After
is honoured, within bounds); a token that expires midway is fetched again once. `OUT/lti-sent.jsonl`
records each score the platform accepted (line item, student, a hash of what was sent without its
timestamp), so that a re-run sends only what changed since, and a push to another line item sends
everything. `--dry-run` says what would be sent and sends nothing.
"""
from __future__ import annotations

import argparse
import email.utils
import hashlib
import http.client
import ipaddress
import json
import os
import ssl
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from nngrade.bulk import ledger
from nngrade.paths import PACKAGE
from nngrade.run import untrusted
from nngrade.cli import ArgumentParser, UsageError
from nngrade.reports.writers import files, lti

SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
SENT = "lti-sent.jsonl"
PLATFORM_KEYS = {"client_id": "the tool's client id on the platform",
                 "token_url": "the platform's OAuth 2 token endpoint",
                 "lineitem": "the line item's URL (its scores go to {lineitem}/scores)",
                 "private_key": "the tool's RSA private key, a PEM file (relative to platform.json)",
                 "key_id": "optional: the kid of the tool's key, as its JWKS names it",
                 "audience": "optional: the JWT's aud, when the platform names its token endpoint otherwise",
                 "users": "optional: student id -> the platform's LTI user id (an object, or a JSON file of one)"}
REQUIRED = ("client_id", "token_url", "lineitem", "private_key")
ATTEMPTS = 5               # per request: the first and four more after 429, 5xx or a failed connection
BACKOFF_SECONDS = 1.0      # the first wait; doubled each time
MAX_WAIT_SECONDS = 60.0    # a Retry-After longer than this is not waited for in full
REQUEST_TIMEOUT = 30.0
MAX_BODY = 1_000_000       # bytes of an answer read: a token or an error is small, whatever a platform sends
ASSERTION_LIFETIME = 300   # seconds: the JWT is used at once, for one token request
EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
SHOWN = 20                 # scores listed by a dry run (the rest are counted)


class PushError(Exception):
    """Sending stopped for a reason that is not the input's (the platform unreachable, or failing): exit 1."""


class Refused(Exception):
    """The platform said no to what was configured (the token request, the line item): exit 2."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    if argv[:1] != ["push"]:
        raise UsageError("grade.py lti: the command is 'grade.py lti push OUT --platform platform.json [--dry-run]'")
    parser = ArgumentParser(prog="grade.py lti push", description="Send the LTI scores of a graded folder "
                            "(OUT/lti/, from grade.py bulk --formats lti) to an LTI 1.3 platform's line item; a "
                            "re-run sends only what changed.")
    parser.add_argument("out", type=Path, metavar="OUT", help="the graded folder (grade.py bulk's --out)")
    parser.add_argument("--platform", type=Path, required=True, metavar="platform.json",
                        help="the platform and the tool's registration on it: " + "; ".join(
                            f"{key}: {what}" for key, what in PLATFORM_KEYS.items()))
    parser.add_argument("--dry-run", action="store_true", help="say what would be sent; send nothing")
    parser.add_argument("--all", action="store_true", help="send every score, also those sent before unchanged")
    return parser.parse_args(argv[1:])


# --- platform.json -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Platform:
    client_id: str
    token_url: str
    lineitem: str
    private_key: object      # a cryptography RSAPrivateKey
    key_path: Path
    key_id: str = ""
    audience: str = ""
    users: dict[str, str] | None = None

    @property
    def scores_url(self) -> str:
        """{lineitem}/scores: appended to the path, the query kept (a line item URL may have one)."""
        parts = urllib.parse.urlsplit(self.lineitem)
        return urllib.parse.urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def load_platform(path: Path) -> Platform:
    def bad(what: str) -> UsageError:
        return UsageError(f"{path}: {what}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise bad("no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(f"cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    except ValueError as exc:
        raise bad(f"not JSON ({exc})") from None
    if not isinstance(config, dict):
        raise bad("not a JSON object")
    unknown = sorted(set(config) - set(PLATFORM_KEYS))
    if unknown:
        raise bad(f"unknown key '{unknown[0]}' (the keys are {', '.join(PLATFORM_KEYS)})")
    for key in REQUIRED:
        if not isinstance(config.get(key), str) or not config[key].strip():
            raise bad(f"'{key}' is missing or not a text ({PLATFORM_KEYS[key]})")
    for key in ("key_id", "audience"):
        if key in config and not isinstance(config[key], str):
            raise bad(f"'{key}' is not a text")
    for key in ("token_url", "lineitem"):
        problem = _url_problem(config[key])
        if problem:
            raise bad(f"'{key}' {config[key]!r}: {problem}")
    key_path = (path.parent / config["private_key"]).resolve() if not os.path.isabs(config["private_key"]) \
        else Path(config["private_key"])
    return Platform(client_id=config["client_id"], token_url=config["token_url"], lineitem=config["lineitem"],
                    private_key=_load_key(key_path, path), key_path=key_path, key_id=config.get("key_id", ""),
                    audience=config.get("audience", ""), users=_users(config.get("users"), path))


def _url_problem(url: str) -> str:
    """Why a URL may not carry a bearer token, or "": https, or http to this machine only (a test platform)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "not an http(s) URL"
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return "must be https (a token sent over http can be read on the way; http is for localhost only)"
    return ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _load_key(key_path: Path, config_path: Path):
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    try:
        data = key_path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{config_path}: private_key {key_path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise UsageError(f"{config_path}: private_key {key_path}: the key is encrypted; give it unencrypted (and "
                         "readable by you alone)") from None
    except (ValueError, UnsupportedAlgorithm):
        raise UsageError(f"{config_path}: private_key {key_path}: not a PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UsageError(f"{config_path}: private_key {key_path}: not an RSA key (LTI 1.3 signs with RS256)")
    if os.name == "posix" and key_path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {key_path} can be read by other users of this machine: chmod 600 it", file=sys.stderr)
    return key


def _users(value, config_path: Path) -> dict[str, str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        users_path = value if os.path.isabs(value) else config_path.parent / value
        try:
            value = json.loads(Path(users_path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{config_path}: users {users_path}: cannot read it as JSON "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
        raise UsageError(f"{config_path}: 'users' must map student ids to LTI user ids (texts)")
    return value


# --- the scores and what was sent --------------------------------------------------------------

def load_scores(out: Path) -> dict[str, dict]:
    """student id -> the AGS score bulk wrote for them (checked against the AGS score schema)."""
    import jsonschema
    folder = out / "lti"
    if not folder.is_dir():
        raise UsageError(f"{out}: no LTI scores ({folder} is missing): grade with "
                         f"'grade.py bulk CLASS --out {out} --formats lti' first")
    schema = json.loads((PACKAGE / "schema" / "lti-ags-score.schema.json").read_text(encoding="utf-8"))
    scores = {}
    for path in sorted(folder.glob("*.json")):
        if path.name.startswith("."):
            continue
        try:
            score = json.loads(path.read_text(encoding="utf-8"))
            jsonschema.validate(score, schema)
        except (OSError, ValueError, jsonschema.ValidationError) as exc:
            reason = exc.message if isinstance(exc, jsonschema.ValidationError) else exc
            raise UsageError(f"{path}: not an AGS score ({untrusted.text(reason, 200)}): grade the folder again "
                             "to rewrite it") from None
        scores[path.stem] = score
    if not scores:
        raise UsageError(f"{folder}: no scores in it")
    return scores


def fingerprint(score: dict) -> str:
    """What makes a score new to the platform: everything but when it was written (rewritten on every run)."""
    body = {k: v for k, v in score.items() if k != "timestamp"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


class Record:
    """OUT/lti-sent.jsonl: one line per score the platform accepted, appended and fsynced as it is accepted."""

    def __init__(self, out: Path):
        self.path = out / SENT
        self.latest: dict[tuple[str, str], dict] = {}
        try:
            with open(self.path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue     # a line cut short by a kill: that score is sent again
                    if isinstance(entry, dict) and isinstance(entry.get("lineitem"), str) \
                            and isinstance(entry.get("student"), str):
                        self.latest[entry["lineitem"], entry["student"]] = entry
        except FileNotFoundError:
            pass

    def sent(self, lineitem: str, student: str, score: dict) -> bool:
        entry = self.latest.get((lineitem, student))
        return entry is not None and entry.get("sha256") == fingerprint(score)

    def add(self, lineitem: str, student: str, score: dict, status: int) -> None:
        entry = {"lineitem": lineitem, "student": student, "userId": score["userId"], "sha256": fingerprint(score),
                 "gradingProgress": score["gradingProgress"], "scoreGiven": score.get("scoreGiven"),
                 "timestamp": score["timestamp"], "status": status, "sent_at": lti.iso_timestamp()}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.latest[lineitem, student] = entry

    def compact(self) -> None:
        if self.latest:
            files.write_text(self.path, "".join(json.dumps(e, sort_keys=True) + "\n" for e in self.latest.values()))


# --- talking to the platform -------------------------------------------------------------------

@dataclass
class Response:
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)

    def json(self) -> dict:
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def said(self) -> str:
        """What the platform said, as one line of safe text (an OAuth error, else the start of the body)."""
        data = self.json()
        if isinstance(data.get("error"), str):
            text = data["error"] + (f": {data['error_description']}" if isinstance(data.get("error_description"), str)
                                    else "")
        else:
            text = self.body[:300].decode("utf-8", "replace")
        return untrusted.text(" ".join(text.split()), 200)


class Client:
    """HTTP with retries: 429, 5xx and failed connections are tried again, waiting longer each time."""

    def __init__(self, sleep=time.sleep, attempts: int | None = None, backoff: float | None = None):
        self.sleep = sleep
        self.attempts = attempts or ATTEMPTS
        self.backoff = BACKOFF_SECONDS if backoff is None else backoff
        self.retried = 0

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with _OPENER.open(request, timeout=REQUEST_TIMEOUT) as answer:
                    response = Response(answer.status, answer.read(MAX_BODY), dict(answer.headers))
            except urllib.error.HTTPError as error:
                response = Response(error.code, error.read(MAX_BODY) or b"", dict(error.headers or {}))
            except (OSError, http.client.HTTPException) as exc:   # refused, reset, timed out, cut short
                reason = getattr(exc, "reason", None) or exc
                if isinstance(reason, ssl.SSLCertVerificationError):    # no retry makes it another server
                    raise Refused(f"the certificate of {_origin(url)} does not verify "
                                  f"({untrusted.text(reason.verify_message or reason, 200)}): check the URL") from None
                if attempt == self.attempts:
                    raise PushError(f"cannot reach the platform at {_origin(url)} after {attempt} attempts "
                                    f"({untrusted.text(reason, 200) or type(exc).__name__})") from None
                self._wait(attempt, None)
                continue
            if response.status == 429 or response.status >= 500:
                if attempt == self.attempts:
                    return response
                self._wait(attempt, response.headers)
                continue
            return response
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, headers: dict | None) -> None:
        self.retried += 1
        after = _retry_after(headers or {})     # the platform's own word on when to come back wins
        self.sleep(min(after if after is not None else self.backoff * 2 ** (attempt - 1), MAX_WAIT_SECONDS))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not followed: urllib would resend the bearer token to wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _retry_after(headers: dict) -> float | None:
    """Retry-After in seconds (a number or an HTTP date), or None."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def assertion(platform: Platform) -> str:
    """The signed JWT of the client-credentials grant (IMS Security Framework 4.1.1)."""
    import jwt
    issued = int(time.time())
    claims = {"iss": platform.client_id, "sub": platform.client_id, "aud": platform.audience or platform.token_url,
              "iat": issued, "exp": issued + ASSERTION_LIFETIME, "jti": uuid.uuid4().hex}
    headers = {"kid": platform.key_id} if platform.key_id else None
    return jwt.encode(claims, platform.private_key, algorithm="RS256", headers=headers)


class Session:
    """An access token for the score scope, fetched when needed and again when it expires."""

    def __init__(self, platform: Platform, client: Client):
        self.platform, self.client = platform, client
        self.token: str | None = None
        self.expires = 0.0

    def authorization(self) -> str:
        if self.token is None or time.monotonic() >= self.expires:
            self.fetch()
        return f"Bearer {self.token}"

    def fetch(self) -> None:
        form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                                       "client_assertion": assertion(self.platform), "scope": SCORE_SCOPE}).encode()
        response = self.client.post(self.platform.token_url, form, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        if response.status == 429 or response.status >= 500:
            raise PushError(f"the platform's token endpoint {self.platform.token_url} kept failing (HTTP "
                            f"{response.status}: {response.said()}); nothing more was sent")
        if response.status != 200:
            raise Refused(f"the platform refused the token request (HTTP {response.status}: {response.said()}): check "
                          f"client_id, the tool's key registered on the platform and token_url in the platform file")
        data = response.json()
        token, kind = data.get("access_token"), data.get("token_type")
        if not isinstance(token, str) or not token or not isinstance(kind, str) or kind.lower() != "bearer":
            raise Refused(f"the token endpoint {self.platform.token_url} answered without a bearer access_token")
        granted = data.get("scope")
        if isinstance(granted, str) and SCORE_SCOPE not in granted.split():
            raise Refused(f"the platform granted the scopes '{untrusted.text(granted, 200)}', not {SCORE_SCOPE}: "
                          "allow the tool to post scores (AGS) on the platform")
        lifetime = data.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else 3600.0
        self.token = token
        self.expires = time.monotonic() + max(1.0, lifetime - 30)   # fetched again before the platform would refuse it


def send(session: Session, score: dict) -> Response:
    """POST one score; a 401 (the token expired or was revoked) gets one new token and one more try."""
    body = json.dumps(score, ensure_ascii=False).encode("utf-8")
    for fresh in (False, True):
        if fresh:
            session.fetch()
        response = session.client.post(session.platform.scores_url, body, {
            "Content-Type": lti.MEDIA_TYPE, "Authorization": session.authorization()})
        if response.status != 401:
            return response
    return response


# --- the command -------------------------------------------------------------------------------

def plan(scores: dict[str, dict], platform: Platform, record: Record,
         every: bool = False) -> tuple[list[tuple[str, dict]], int, list[str]]:
    """(scores to send, how many were sent before unchanged, students without an LTI user id in `users`);
    `every`: send the unchanged ones too."""
    todo, unchanged, unmapped = [], 0, []
    for student, score in scores.items():
        if platform.users is not None:
            if student not in platform.users:
                unmapped.append(student)
                continue
            score = {**score, "userId": platform.users[student]}
        if not every and record.sent(platform.lineitem, student, score):
            unchanged += 1
        else:
            todo.append((student, score))
    return todo, unchanged, unmapped


def main(argv: list[str] | None = None, client: Client | None = None) -> int:
    try:
        args = parse_args(list(sys.argv[2:] if argv is None else argv))
        if not args.out.is_dir():
            raise UsageError(f"{args.out}: no such folder")
        platform = load_platform(args.platform)
        if args.dry_run:
            return _dry_run(args.out, platform, load_scores(args.out), args.all)
        with ledger.Lock(args.out):    # not while bulk rewrites lti/, nor two pushes at once
            return _push(args.out, platform, load_scores(args.out), client or Client(), args.all)
    except (UsageError, Refused, ledger.Locked) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"error: cannot write {exc.filename or 'the record of what was sent'}: {exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_USAGE
    except ModuleNotFoundError as exc:    # PyJWT or cryptography: the push needs them, grading does not
        print(f"error: grade.py lti push needs the {exc.name} package: pip install -r requirements.txt",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\ninterrupted: what was accepted is recorded; run the same command again to send the rest",
              file=sys.stderr)
        return 130


def _header(out: Path, platform: Platform, scores: dict, todo: list, unchanged: int, unmapped: list[str]) -> None:
    print(f"lti push · {platform.lineitem} · {len(scores)} scores in {out / 'lti'}: {len(todo)} to send, "
          f"{unchanged} sent before and unchanged")
    if unmapped:
        shown = ", ".join(unmapped[:5]) + (", ..." if len(unmapped) > 5 else "")
        print(f"warning: {len(unmapped)} students have no LTI user id in the platform file's users, and are not sent: "
              f"{shown}", file=sys.stderr)


def _describe(score: dict) -> str:
    given = f"{score['scoreGiven']:g}/{score['scoreMaximum']:g} " if "scoreGiven" in score else ""
    return f"{score['userId']}: {given}{score['activityProgress']}/{score['gradingProgress']}"


def _dry_run(out: Path, platform: Platform, scores: dict[str, dict], every: bool) -> int:
    assertion(platform)    # the key signs: a push would get as far as asking for a token
    todo, unchanged, unmapped = plan(scores, platform, Record(out), every)
    _header(out, platform, scores, todo, unchanged, unmapped)
    for _, score in todo[:SHOWN]:
        print(f"would send {_describe(score)}")
    if len(todo) > SHOWN:
        print(f"... and {len(todo) - SHOWN} more")
    print(f"dry run: nothing was sent (POST {platform.scores_url}, {lti.MEDIA_TYPE}, token from {platform.token_url})")
    return EXIT_INCOMPLETE if unmapped else EXIT_OK


def _push(out: Path, platform: Platform, scores: dict[str, dict], client: Client, every: bool) -> int:
    record = Record(out)
    todo, unchanged, unmapped = plan(scores, platform, record, every)
    _header(out, platform, scores, todo, unchanged, unmapped)
    session, refused, sent = Session(platform, client), [], 0
    last_said = time.monotonic()
    try:
        for student, score in todo:
            response = send(session, score)
            if 200 <= response.status < 300:
                record.add(platform.lineitem, student, score, response.status)
                sent += 1
            elif response.status in (400, 422):      # this score, not the line item: the others may go
                refused.append(f"{student} (HTTP {response.status}: {response.said()})")
            elif response.status == 429 or response.status >= 500:
                raise PushError(f"the platform kept failing (HTTP {response.status}: {response.said()}) after "
                                f"{client.attempts} attempts")
            else:      # 401 with a fresh token, 403, 404, 415: every score would meet the same
                raise Refused(f"the platform refused the score of {student} (HTTP {response.status}: "
                              f"{response.said()}) at {platform.scores_url}: check lineitem in the platform file "
                              f"and that the tool may post scores to it; sent {sent} of {len(todo)}")
            if time.monotonic() - last_said >= 10:
                print(f"... {sent} of {len(todo)} sent", flush=True)
                last_said = time.monotonic()
    except PushError as exc:
        print(f"error: {exc}; sent {sent} of {len(todo)}: run the same command again to send the rest",
              file=sys.stderr)
        return EXIT_INCOMPLETE
    finally:
        record.compact()
    retried = f" ({client.retried} requests tried again)" if client.retried else ""
    print(f"sent {sent} score{'s' * (sent != 1)} to {platform.scores_url}{retried}; recorded in {out / SENT}")
    if refused:
        print(f"error: the platform refused {len(refused)} score{'s' * (len(refused) != 1)}: "
              f"{'; '.join(refused[:3])}{'; ...' if len(refused) > 3 else ''}", file=sys.stderr)
    return EXIT_INCOMPLETE if refused or unmapped else EXIT_OK
