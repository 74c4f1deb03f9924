"""The demo's published credentials (``.env.example``, ``scripts/demo.sh``): anyone
can read them, so the example refuses them outside ``DEBUG`` (check ``classroom.E001``).
"""

DEMO_PUSHER_APP_ID = "424242"
DEMO_PUSHER_KEY = "demo-key"
DEMO_PUSHER_SECRET = "demo-secret-7ad3773142a6692b25b8"
