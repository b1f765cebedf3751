"""Everything that makes a concealed resource's ``404`` indistinguishable from a missing one's.

* :mod:`~authstatus.concealment.uniform` — uniform concealment: a missing URL under
  ``UNIFORM_CONCEALMENT_PATHS`` pays the work of a concealed refusal before its ``404``.
"""
