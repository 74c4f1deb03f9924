"""The model bridge: registered models broadcast their saves and deletes.

``registry`` (what is registered, in code or in settings), ``options`` (the
``ModelBroadcast`` class: what to send, where, when), ``templates`` and
``payload`` (building names and data), ``checks`` (the one copy of the rules,
for registration and the system check), ``emit`` (coalescing, handing events to
``delivery.publish``), ``receivers`` (the model signals), ``switch``
(``without_broadcasting``), ``bulk`` (``broadcast_bulk``), and ``broadcasts``, the
public module. See docs/broadcasting.md.
"""
