"""s3dlio-datagen: synthetic data with exact dedup and compression ratios.

Installing the distribution adds ``s3dlio.generate_data``, ``s3dlio.Generator``,
``s3dlio.XorStream``, ``s3dlio.put`` and the ``s3-cli put`` / ``s3-cli generate``
commands. Importing this package imports nothing heavy; numpy is loaded by
:mod:`s3dlio_datagen.api` on first use.
"""

__version__ = "0.1.0"
