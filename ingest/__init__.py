"""Quorum's ingester: pure functions from archive bytes to plain dataclasses.

Nothing in this package touches a database, an index or Flask. The pipeline reads
``sources`` (find and split archives into raw messages) then ``parse`` (one raw message to a
``ParsedMessage``); the app stores, threads and indexes what comes out.
"""
