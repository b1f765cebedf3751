"""The demo's routes with Django's own ``handler404`` (tests/test_checks: authstatus.W009).
No view declares concealment here: only settings policies can."""

from demo_project.urls import urlpatterns

__all__ = ["urlpatterns"]
