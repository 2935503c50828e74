"""Errors that reach a person as a clear message, never as a traceback.

Every layer raises a subclass of :class:`KneefixError` for bad input or an unusable resource; the
interfaces (CLI, web, API) catch this one base class and show ``str(error)``. Anything else that escapes
is a bug.
"""


class KneefixError(Exception):
    """A problem the person can act on. ``str(err)`` is the message shown to them."""

    exit_code = 2


class InputError(KneefixError):
    """An answer, flag or file the person gave is out of range or malformed."""


class ContentError(KneefixError):
    """A content file (exercise, protocol, questionnaire...) is malformed; names file and field."""


class StorageError(KneefixError):
    """The database is locked, corrupt or unreachable. Nothing already saved is lost."""


class VideoError(KneefixError):
    """A video cannot be read (not a video, truncated, empty) or holds no usable person."""


class NotFoundError(KneefixError):
    """A profile, entry or record the person asked for does not exist."""
