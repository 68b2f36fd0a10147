"""Test suite.

Importing `app.main` builds the module-level `app` from the environment: the tests run it as `test`
with a key of their own, so that import never creates the development key file (each test passes its
own settings to create_app, and the subprocess tests strip both from the environment they pass on).
"""

import os

os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("SECRET_KEY", "test-suite-signing-key-0123456789abcdef")
