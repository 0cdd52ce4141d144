"""Every response shape, defined once: services dump their answers (REST bodies and socket
event payloads) with these schemas, and the routes name the same classes in
`@blp.response`, so /api/openapi.json describes exactly what is sent.

Fields read the stored document (`id` comes from `_id`); what a rule decides (a deleted
post shows no author) is decided by the service before it dumps. Request schemas stay in
routes/*_schemas.py.
"""
