"""pipeline-tools: package, synthesize, verify, scan, deploy and run the Step Functions ML pipeline."""

__version__ = "0.1.0"
