"""Following live lists: each configured source pulled into the one ingest path.

``runner`` owns a pass over the sources (cursors, health, back-off); the other modules each
know one kind of source: ``web_archives`` (pipermail and mbox URLs over ``http``), ``imap``
and ``maildir``.
"""
