"""Tailor's foundation: the `TAILOR` settings accessor, the Redis connection and token signing.

Every other Tailor package may import this one; it imports none of them (`make lint` holds that).
The layers above it, bottom up: the pure engines (`rules.engine`, `variants.engine`), `rules`,
`variants`, then the Wagtail and GraphQL glue in `cms`, then `themes`.
"""
