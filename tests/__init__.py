"""Test suite.

Importing `app.main` builds the module-level `app` from the environment: the tests run it as `test`, so
that import never creates the development key file (each test passes its own settings to create_app).
"""

import os

os.environ.setdefault("ENVIRONMENT", "test")
