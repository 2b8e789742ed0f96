"""SageMaker jobs that really run on this machine (used by ``patches.sagemaker_jobs``).

* :mod:`.processing` - a processing job: S3 inputs downloaded into a private root, the
  ``/opt/ml/...`` paths mapped into it, the entrypoint run with the local Python.
* :mod:`.training` - a training job for the built-in XGBoost algorithm, trained by
  :mod:`.xgboost_train` in a subprocess (so ``MaxRuntimeInSeconds`` can stop it).
* :mod:`.launch` - how a job's Python starts while its inputs download, and runs its code once
  they are in place; :mod:`.common` holds what both runners share (``JobProcess``, S3 transfers,
  the per-job log directory and ``runner.log``).
"""
