"""A browser's user agent as a person recognises it ("Firefox on Android"), for the account page.

The account page lists where someone is signed in so they can spot a browser that is not theirs; a raw
user agent (``Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 ...``) does not help with that. The
labels are a small, ordered set of checks (the order matters: Edge and Opera also say "Chrome", and
Chrome also says "Safari"); anything unrecognised shows its first characters instead, never nothing.
"""

from __future__ import annotations

BROWSERS: tuple[tuple[str, str], ...] = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("HeadlessChrome/", "Chrome (headless)"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Version/", "Safari"),  # Safari's own version token; Chrome-based browsers are matched above
    ("curl/", "curl"),
    ("python-httpx/", "a Python program"),
)
SYSTEMS: tuple[tuple[str, str], ...] = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)
UNKNOWN = "A browser that did not say what it is"
SHOWN_RAW = 60
"""How much of an unrecognised user agent is shown."""


def browser_label(user_agent: str | None) -> str:
    """ "Chrome on Android", "Safari on iPhone", or the start of the raw text when neither is known."""
    text = (user_agent or "").strip()
    if not text:
        return UNKNOWN
    browser = next((name for token, name in BROWSERS if token in text), None)
    system = next((name for token, name in SYSTEMS if token in text), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or f"A browser on {system}"
    return text if len(text) <= SHOWN_RAW else text[: SHOWN_RAW - 1] + "…"
