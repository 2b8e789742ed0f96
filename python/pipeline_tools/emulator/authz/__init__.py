"""Authorization for the local emulator (issue 11): what each request asks of IAM.

:mod:`.resolve` maps a request (service, operation, botocore-shaped parameters) to the IAM
action(s), the request's real resource ARN(s) and its condition keys; the decision itself is
:func:`pipeline_tools.iam.evaluation.evaluate`. Nothing here is wired into the server yet.
"""

from .resolve import Account, Authorization, RequestFacts, UnresolvedOperation, image_pull, known_operations, pass_role, resolve

__all__ = ["Account", "Authorization", "RequestFacts", "UnresolvedOperation", "image_pull", "known_operations", "pass_role", "resolve"]
