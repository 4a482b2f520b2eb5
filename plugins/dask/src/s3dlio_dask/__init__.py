"""s3dlio-dask: bulk copy / generate / get / delete on a Dask cluster, served as ``s3dlio.bulk``.

Importing this package imports nothing; Dask loads when a ``client`` is given.
"""

__version__ = "0.1.0"
