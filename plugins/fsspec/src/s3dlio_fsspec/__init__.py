"""s3dlio-fsspec: an fsspec filesystem over every s3dlio backend, served as ``s3dlio.fsspec``.

``s3dlio.fsspec.S3dlioFileSystem()`` takes full URIs of every installed scheme;
``direct://`` is registered with fsspec through the ``fsspec.specs`` entry point;
``s3dlio.fsspec.register("s3", "gs", "az")`` opts other protocols in. Importing this
package imports nothing; fsspec loads with :mod:`s3dlio_fsspec.filesystem`.
"""

__version__ = "0.1.0"
