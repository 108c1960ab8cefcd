"""The errors a source raises when it cannot be read now."""


class SyncError(Exception):
    """A source that failed this pass (refused, cut short, bad password): the message is
    what `quorum sources` and the admin page show, so it names what failed."""


class Unreachable(SyncError):
    """The server kept failing through every retry: nothing more of it is asked this pass."""
