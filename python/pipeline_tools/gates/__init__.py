"""The gates a stack passes before it deploys: validate (statelint, API shapes, terraform validate),
verify-iam (``pipeline_tools.iam``), scan (checkov), and check (all of them, the CI gate). The
commands of the same names call these."""
