"""s3dlio-direct: the ``direct://`` (O_DIRECT) backend for s3dlio.

Installing the distribution is all it takes: s3dlio finds it through the
``s3dlio`` entry-point group. Importing this package imports nothing heavy.
"""

__version__ = "0.1.0"
