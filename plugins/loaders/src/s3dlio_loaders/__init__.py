"""s3dlio-loaders: formats, datasets and loaders for PyTorch, JAX and TensorFlow, from any backend.

Installing the distribution adds ``s3dlio.create_dataset``, ``s3dlio.create_async_loader``,
``s3dlio.LoaderOptions``, ``s3dlio.read_npz``, the TFRecord index functions and the
framework adapters (:mod:`s3dlio_loaders.torch_adapter`). Importing this package
imports nothing heavy: numpy, torch and pyarrow load on first use.
"""

__version__ = "0.1.0"
