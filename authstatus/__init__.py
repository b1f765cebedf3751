"""django-authstatus: every refused request says why, and what the client can do about it."""

__version__ = "0.1.0.dev0"
