"""Test suite.

Importing `app.main` builds the module-level `app` from the environment: the tests run it as `test`
(each test passes its own settings to create_app). Without SECRET_KEY that import keeps a key in the
git-ignored `.secret_key`, as every non-production start does.
"""

import os

os.environ.setdefault("ENVIRONMENT", "test")
