"""The tensor functions, one module per kind; :mod:`chainrule.core.functional` exports them all.

Each function validates its arguments (an error that names the op and the shapes), then
applies one primitive or composes several. The modules import each other one way only:
``convert`` < ``elementwise`` < ``indexing`` < ``shape`` < ``reductions`` < ``linalg``;
``views`` and ``special`` sit above ``shape`` and ``elementwise``.
"""
