"""``DELIVERY = "celery"`` (extra ``[celery]``): the outbox delivered by Celery.

* ``tasks``: ``django_toolbox_realtime.deliver`` (the committed channels' due rows)
  and ``django_toolbox_realtime.sweep`` (everything due: run it from beat).
* ``enqueue``: the after-commit dispatcher that enqueues ``deliver``; ``apps.py``
  installs it when the setting chooses celery.

The tasks run the outbox worker's own rounds (claim, send, record), so per-channel
order and one sender per lane hold with any number of Celery workers, as with
``manage.py realtime_deliver``. See docs/delivery.md.
"""
