"""The ``s3-cli`` command line (also ``python -m s3dlio``)."""
