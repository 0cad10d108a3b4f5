"""Surviving mutants that behave exactly like the original code, each with the reason (mutmut's name ->
why). mutate.py counts them apart from the score; docs/security.md ("Mutation testing") lists them.
A name that no longer survives (killed, or renumbered after an edit) simply stops matching: re-check
the survivors in dev/bench/results/mutation.json after changing a module."""

from __future__ import annotations

HEADER_NAME_CASE = (
    "changes the letter case of an HTTP header name; Starlette's Headers lowercase the name they look up, "
    "and header names are case-insensitive on the wire"
)

EQUIVALENT: dict[str, str] = {}

RESPONSE_HEADER_CASE = (
    "changes the letter case of a response header name; HTTP header names are case-insensitive, so every "
    "client reads the same response"
)
WELL_FORMED_ORIGIN = (
    'splits at the last "://" instead of the first; a well-formed origin (scheme "://" host [":" port], '
    'RFC 6454, as browsers send it) holds "://" once'
)
CSRF = "app.core.csrf."
GUARD = CSRF + "xǁCookieCsrfGuardǁ"

EQUIVALENT.update(
    {
        GUARD + "_authenticated_by_cookie__mutmut_4": HEADER_NAME_CASE,
        GUARD + "__call____mutmut_59": HEADER_NAME_CASE,
        GUARD + "_same_origin__mutmut_3": HEADER_NAME_CASE,
        GUARD + "_same_origin__mutmut_11": HEADER_NAME_CASE,
        CSRF + "x__own_origin__mutmut_6": HEADER_NAME_CASE,
        CSRF + "x__own_origin__mutmut_23": HEADER_NAME_CASE,
        CSRF + "x__own_origin__mutmut_26": HEADER_NAME_CASE,
        CSRF + "x__own_origin__mutmut_14": 'the default scheme "HTTP": _normalized_origin lowercases it to "http"',
        CSRF + "x__normalized_origin__mutmut_3": WELL_FORMED_ORIGIN,
        CSRF + "x__normalized_origin__mutmut_7": 'rstrip("XX/XX") runs after lower(): no "X" is left to strip',
        CSRF + "x__normalized_origin__mutmut_11": (
            "always splitting off the last part: when that part is not digits it is never the default port, "
            "so the origin is returned unchanged either way"
        ),
        CSRF + "x__normalized_origin__mutmut_18": 'rsplit(":") without a limit: its last element is the same',
        CSRF + "x__normalized_origin__mutmut_21": 'rsplit(":", 2): its last element is the same',
        CSRF + "x__normalized_origin__mutmut_24": "changes the separator, which is discarded",
        CSRF + "x__normalized_origin__mutmut_25": 'a port of "XXXX" instead of "" where there is none: neither is '
        "a default port",
        CSRF + "x__is_json__mutmut_5": 'a missing Content-Type read as "xxxx" instead of "": neither is JSON',
        CSRF + "x__refuse__mutmut_15": RESPONSE_HEADER_CASE,
        CSRF + "x__refuse__mutmut_19": RESPONSE_HEADER_CASE,
    }
)

CREDENTIALS = "app.core.credentials."
CONFIG = "app.core.config.xǁSettingsǁ"
EQUIVALENT.update(
    {
        CREDENTIALS + "x_bearer_token__mutmut_5": 'no header read as "XXXX" instead of "": neither is a bearer scheme',
        CREDENTIALS + "x_session_cookie__mutmut_4": HEADER_NAME_CASE,
        CONFIG + "_database_password__mutmut_4": 'no password in DATABASE_URL read as "XXXX" instead of "": '
        "neither is a published secret",
        CONFIG + "trusted_proxy_networks__mutmut_8": "strict=None instead of strict=False: both are false",
    }
)

TOKENS = "app.core.security.xǁAccessTokensǁ"
RANDOM_DEV_KEY = (
    "the dev-only per-process key is still random (32 or 49 bytes instead of 48) and never leaves the process"
)
EQUIVALENT.update(
    {
        TOKENS + "__init____mutmut_8": RANDOM_DEV_KEY,
        TOKENS + "__init____mutmut_9": RANDOM_DEV_KEY,
        TOKENS + "issue__mutmut_21": "drops algorithm=HS256, which is PyJWT's default for encode",
        TOKENS
        + "verify__mutmut_4": "< instead of <= against the clock: differs only at the exact float instant of expiry",
        TOKENS + "verify__mutmut_14": "popitem(last=None) instead of last=False: both are false",
    }
)

VERSIONS = "app.services.sessions.xǁTokenVersionsǁ"
PREPARED = "only whether psycopg prepares the statement on the server: the same row comes back"
EQUIVALENT.update(
    {
        VERSIONS + "current__mutmut_6": PREPARED,
        VERSIONS + "current__mutmut_9": PREPARED,
        VERSIONS + "current__mutmut_10": PREPARED,
        VERSIONS
        + "_remember__mutmut_11": ">= instead of >: when the two versions are equal, keeping either is the same",
        VERSIONS + "_remember__mutmut_16": "popitem(last=None) instead of last=False: both are false",
    }
)

COOKIES = "app.core.device_cookies.xǁDeviceCookiesǁ"
EQUIVALENT.update(
    {
        "app.services.login_limits.x_account_key__mutmut_10": '"UTF-8" and "utf-8" name the same codec',
        COOKIES + "__init____mutmut_4": "the dev-only per-process key is still random (32 bytes by default)",
        COOKIES + "__init____mutmut_5": "the dev-only per-process key is still random (33 bytes instead of 32)",
        COOKIES + "__init____mutmut_8": (
            "derives the key from JWT_SECRET over an empty message instead of the label: still secret, the same "
            "in every replica; the label only separates it from other uses of JWT_SECRET, none of which signs "
            "an empty message"
        ),
        COOKIES + "device__mutmut_26": '"UTF-8" and "utf-8" name the same codec',
    }
)

HASHING = "app.core.hashing.xǁPasswordHashingǁ"
NO_QUEUED_HASHES = (
    "the slots admit at most `slots` hashes to the executor at once, so no hash ever waits in its queue to be cancelled"
)
EQUIVALENT.update(
    {
        HASHING
        + "__init____mutmut_11": "more executor threads than slots: the slots still admit `slots` hashes at once",
        HASHING
        + "__init____mutmut_14": "more executor threads than slots: the slots still admit `slots` hashes at once",
        HASHING + "shutdown__mutmut_1": "wait=None instead of wait=False: both are false",
        HASHING + "shutdown__mutmut_2": NO_QUEUED_HASHES,
        HASHING + "shutdown__mutmut_4": NO_QUEUED_HASHES,
        HASHING + "shutdown__mutmut_6": NO_QUEUED_HASHES,
    }
)

READINESS = "app.core.readiness."
SCHEMA = READINESS + "xǁSchemaReadinessǁ"
GATE = READINESS + "xǁSchemaGateǁ"
FIRST_CHECK = (
    "the first recent_check() checks anyway: the clock it compares with is far past the recheck interval "
    "(time.monotonic() counts from boot), or the answer is still unset"
)
EQUIVALENT.update(
    {
        READINESS + "x_shipped_revisions__mutmut_5": 'a head of "XXXX" instead of "" for a migration directory with '
        "no revisions; the image always ships some",
        GATE + "__call____mutmut_40": RESPONSE_HEADER_CASE,
        GATE + "__call____mutmut_41": RESPONSE_HEADER_CASE,
        GATE + "__call____mutmut_44": "a JSONResponse never calls receive",
        SCHEMA + "__init____mutmut_6": FIRST_CHECK,
        SCHEMA + "__init____mutmut_7": FIRST_CHECK,
        SCHEMA + "__init____mutmut_8": FIRST_CHECK,
        SCHEMA + "_get_engine__mutmut_6": "no pool timeout: the check's own 3 s timeout bounds the wait the same way",
        SCHEMA
        + "_get_engine__mutmut_12": "the default 30 s pool timeout: the check's own 3 s timeout ends the wait first",
        SCHEMA + "check__mutmut_26": "< instead of <=: when the versions are every shipped revision, the head is among "
        "them and the first test already answers ready",
        SCHEMA
        + "recent_check__mutmut_11": "> instead of >= against the clock: differs only at one exact float instant",
    }
)
