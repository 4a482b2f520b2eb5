"""s3dlio-azure: the ``az://`` / ``azure://`` backend of s3dlio, on azure-storage-blob.

Importing this package imports nothing heavy; the Azure SDK is imported when the
first ``az://`` store is used (and ``azure-identity`` only when
``DefaultAzureCredential`` is chosen).
"""

__version__ = "0.1.0"
