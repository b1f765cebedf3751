"""Everything that makes a concealed resource's ``404`` indistinguishable from a missing one's.

* :mod:`~authstatus.concealment.notfound` — the one ``404`` (concealed refusals, ``Http404``,
  ``handler404``), rendered from one decision, and its optional ``Bearer`` hint;
* :mod:`~authstatus.concealment.slash` — ``APPEND_SLASH`` that never redirects to a concealed
  resource (public as ``authstatus.middleware.CommonMiddleware``);
* :mod:`~authstatus.concealment.uniform` — uniform concealment: a missing URL under
  ``UNIFORM_CONCEALMENT_PATHS`` pays the work of a concealed refusal before its ``404``.

The CSRF failure view that answers a would-be concealed refusal with the ``404`` is
:func:`authstatus.views.csrf_failure` (the public view path).
"""
